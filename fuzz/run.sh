#!/usr/bin/env bash
# Fuzz the hook's request path: fuzz/run.sh [SECONDS] [TARGET...]
#
# Installs cargo-fuzz if missing, rebuilds the seed corpus from events/ and Okta's samples, builds
# the targets, runs each for SECONDS (default 60; all targets unless named), prints executions
# and findings, and exits non-zero if any target crashed (the input is in fuzz/artifacts/TARGET/).
# See fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(request_path hook_body)

export PATH="$HOME/.cargo/bin:$PATH"
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
# cargo-fuzz passes nightly-only flags to rustc; the stable toolchain accepts them with this.
export RUSTC_BOOTSTRAP=1
# No AddressSanitizer: the code under test is safe Rust, the targets check their own invariants,
# and the sanitizer build of the AWS SDK-sized dependency tree costs CI several times longer.
fuzz_flags=(--sanitizer none)

# Seed corpus, rebuilt every run; what the fuzzer added on earlier runs stays.
api_key_b64=$(printf %s local-dev-api-key | base64) # the API_KEY events/ carry (local/local.env)
mkdir -p corpus/request_path corpus/hook_body
for f in ../events/*/*.json ../tests/fixtures/okta/*.json; do
    [ -e "$f" ] || continue
    cp "$f" "corpus/request_path/seed-$(basename "$(dirname "$f")")-$(basename "$f")"
done
# hook_body: the presented header value, an API key, the body, one line each for the first two.
for f in ../tests/fixtures/okta/*.json; do
    n=$(basename "$f" .json)
    for header in "$api_key_b64" "Basic $api_key_b64" "local-dev-api-key" "wrong-key" ""; do
        tag=$(printf %s "$header" | cksum | cut -d' ' -f1)
        { printf '%s\n%s\n' "$header" local-dev-api-key; tr -d '\n' <"$f"; } \
            >"corpus/hook_body/seed-$n-$tag"
    done
done

mkdir -p target
start=$(date +%s)
if ! cargo fuzz build "${fuzz_flags[@]}" >target/fuzz-build.log 2>&1; then
    tail -n 40 target/fuzz-build.log
    echo "fuzz build failed; log: fuzz/target/fuzz-build.log"
    exit 2
fi
echo "fuzz build: $(($(date +%s) - start)) s"

crashed=()
for target in "${targets[@]}"; do
    log=target/fuzz-$target.log
    mkdir -p "artifacts/$target"
    marker=$(mktemp)
    echo "== $target: ${seconds}s"
    status=0
    cargo fuzz run "${fuzz_flags[@]}" "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -max_len=65536 -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$log" || true
    grep -E '^#[0-9]+\s+DONE' "$log" || true
    found=$(find "artifacts/$target" -type f -newer "$marker" | sort)
    rm -f "$marker"
    if [ "$status" -ne 0 ] || [ -n "$found" ]; then
        echo "CRASH in $target (exit $status); log: fuzz/$log"
        grep -E -m5 "panicked at|^SUMMARY|==[0-9]+== ERROR" "$log" || tail -n 20 "$log"
        [ -z "$found" ] || printf '  input: fuzz/%s\n' $found
        crashed+=("$target")
    fi
done

if [ ${#crashed[@]} -gt 0 ]; then
    echo "fuzz: crashes in ${crashed[*]}"
    exit 1
fi
echo "fuzz: no crashes (${targets[*]}, ${seconds}s each)"
