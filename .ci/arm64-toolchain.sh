#!/usr/bin/env bash
# The arm64 (aarch64-unknown-linux-gnu) Rust toolchain, from Debian's packages only - never a
# toolchain download from anywhere else:
#   - host compiler: Debian's rustc-web + cargo-web (installed with apt-get if missing; root only),
#   - target std: libstd-rust-web-dev:arm64 of the same version, fetched with `apt-get download`
#     through a private apt state (the system's dpkg gets no foreign architecture) and unpacked
#     with `dpkg-deb -x` into a sysroot under .toolchains/ (gitignored; reused on later runs),
#   - qemu-user-static, to run the arm64 binary here (.ci/arm64-events.sh).
# The linker is zig from PyPI's ziglang (requirements-dev.txt), used by `cargo lambda build`.
#
# Prints shell assignments for the build to eval: `eval "$(.ci/arm64-toolchain.sh)"`.
# Everything else goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "arm64-toolchain: $*" >&2; }

dir=${TOOLCHAIN_DIR:-$PWD/.toolchains}
export DEBIAN_FRONTEND=noninteractive

# 1. Host compiler and qemu (Debian packages, installed system-wide).
need=()
dpkg -s rustc-web >/dev/null 2>&1 || need+=(rustc-web)
dpkg -s cargo-web >/dev/null 2>&1 || need+=(cargo-web)
[ -x /usr/bin/qemu-aarch64-static ] || need+=(qemu-user-static)
if [ ${#need[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || { log "needs ${need[*]} (apt-get install as root)"; exit 1; }
    log "apt-get install ${need[*]}"
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
version=$(dpkg-query -W -f '${Version}' rustc-web)
rustc=/usr/bin/rustc cargo=/usr/bin/cargo
"$rustc" --version | grep -q '^rustc 1\.' || { log "$rustc is not Debian's rustc-web"; exit 1; }

# 2. arm64 std of exactly that version, into a sysroot of our own.
sysroot=$dir/rust-$version/sysroot
target_lib=$sysroot/lib/rustlib/aarch64-unknown-linux-gnu/lib
apt_dir=$dir/apt-arm64
apt_opts=(-o "APT::Architecture=arm64" -o "APT::Architectures::=arm64"
          -o "Dir::State=$apt_dir" -o "Dir::State::Lists=$apt_dir/lists"
          -o "Dir::State::status=$apt_dir/status" -o "Dir::Cache=$apt_dir/cache"
          -o "Dir::Etc::Preferences=$apt_dir/etc/preferences"
          -o "Dir::Etc::PreferencesParts=$apt_dir/etc/preferences.d"
          -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
# fetch_arm64 DEST PACKAGE...: download arm64 .debs through the private apt state, unpack into DEST.
fetch_arm64() {
    local dest=$1; shift
    mkdir -p "$apt_dir"/{lists/partial,cache/archives/partial} "$apt_dir/etc/preferences.d"
    [ -f "$apt_dir/status" ] || : > "$apt_dir/status"
    if [ -z "${apt_updated:-}" ]; then
        apt-get "${apt_opts[@]}" update -qq >&2
        apt_updated=1
    fi
    local debs; debs=$(mktemp -d)
    chmod 755 "$debs"
    (cd "$debs" && apt-get "${apt_opts[@]}" download "$@" >&2)
    mkdir -p "$dest"
    for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$dest"; done
    rm -rf "$debs" "$dest/usr/share/doc" "$dest/usr/share/lintian"
    # Links to absolute host paths mean nothing here (and `sam build`, which hashes the source
    # tree, stops at a dangling one).
    find "$dest" -xtype l -delete
}

# 2. arm64 std of exactly that version (the -dev package holds the rlibs), into a sysroot of our own.
sysroot=$dir/rust-$version/sysroot
target_lib=$sysroot/lib/rustlib/aarch64-unknown-linux-gnu/lib
if ! ls "$target_lib"/libstd-*.rlib >/dev/null 2>&1; then
    log "fetching libstd-rust-web-dev:arm64 $version"
    unpack=$dir/rust-$version/unpack
    rm -rf "$unpack"
    fetch_arm64 "$unpack" "libstd-rust-web-dev:arm64=$version" \
        "libstd-rust-web-$(echo "$version" | cut -d. -f1,2):arm64=$version"
    src=$(find "$unpack" -type d -path '*/rustlib/aarch64-unknown-linux-gnu/lib' | head -1)
    [ -n "$src" ] || { log "no aarch64 rustlib in the unpacked packages"; exit 1; }
    mkdir -p "$(dirname "$target_lib")"
    rm -rf "$target_lib"
    cp -a "$src" "$target_lib"
    rm -rf "$unpack"
fi

# 3. An arm64 root with the C runtime the binary links to, for qemu-aarch64-static -L (the
#    binary is dynamically linked against glibc, as on Lambda's provided.al2023).
arm64_root=$dir/arm64-root
if ! ls "$arm64_root"/lib/aarch64-linux-gnu/libc.so.6 >/dev/null 2>&1; then
    log "fetching libc6:arm64 and libgcc-s1:arm64 for qemu"
    fetch_arm64 "$arm64_root" libc6:arm64 libgcc-s1:arm64
fi

# The host's own std stays Debian's (build scripts and proc macros run here).
ln -sfn /usr/lib/rustlib/x86_64-unknown-linux-gnu "$sysroot/lib/rustlib/x86_64-unknown-linux-gnu"

# 4. A bin dir that puts Debian's cargo/rustc first and has no rustup in it: with rustup's cargo
#    first, the build would use rustup's toolchain, which has no arm64 std (and, were it not for
#    the workspace's skip_target_check, `cargo lambda build --arm64` would `rustup target add`).
bin=$dir/bin-debian
mkdir -p "$bin"
ln -sfn "$cargo" "$bin/cargo"
ln -sfn "$rustc" "$bin/rustc"
path=""
IFS=: read -ra parts <<<"$PATH"
for p in "${parts[@]}"; do
    [ -n "$p" ] && [ -x "$p/rustup" ] && continue
    case "$p" in */.cargo/bin|*/.rustup/*) continue ;; esac
    path=${path:+$path:}$p
done

log "rustc $("$rustc" --version | awk '{print $2}') (Debian $version), sysroot $sysroot"
printf 'export PATH=%q\n' "$bin:$path"
printf 'export RUSTC=%q CARGO=%q\n' "$rustc" "$cargo"
printf 'unset RUSTUP_TOOLCHAIN RUSTUP_HOME\n'
printf 'export ARM64_ROOT=%q\n' "$arm64_root"
printf 'export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS=%q\n' "--sysroot=$sysroot"
