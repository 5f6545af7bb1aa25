#!/usr/bin/env bash
# Runs the arm64 Lambda zip's bootstrap under qemu-aarch64-static, attached to cargo-lambda's
# Lambda emulator (the Runtime API), and answers every event in events/ with it, checking each
# answer against events/expected.tsv.
#   .ci/arm64-events.sh [path/to/bootstrap.zip]   (default: make zip ARCH=arm64's output)
# Needs: `make setup` (cargo-lambda in .venv) and .ci/arm64-toolchain.sh (qemu, the arm64 C runtime).
set -euo pipefail
cd "$(dirname "$0")/.."
zip=${1:-${ARM64_TARGET_DIR:-${CARGO_TARGET_DIR:-target}/arm64}/lambda/nl3-okta-hook/bootstrap.zip}
venv=${VENV:-.venv}
export PATH="$PWD/$venv/bin:$PATH"
eval "$(.ci/arm64-toolchain.sh 2>/dev/null | grep '^export ARM64_ROOT=')"
qemu=/usr/bin/qemu-aarch64-static
[ -x "$qemu" ] || { echo "qemu-aarch64-static missing (.ci/arm64-toolchain.sh installs it)"; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$zip" "$work"
chmod +x "$work/bootstrap"
head -c 20 "$work/bootstrap" | od -An -tx1 | tr -d ' \n' | grep -q '^7f454c46020101.\{22\}b700' ||
    { echo "$zip: bootstrap is not an aarch64 ELF"; exit 1; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { # wait_for FILE PATTERN WHAT
    for _ in $(seq 1 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    echo "timed out waiting for $3"; cat "$1"; exit 1
}

# ---- NL3 and ipinfo stand-ins: this block is the script's only use of local/ ---------------
# The tests' own stand-ins (examples/local_upstreams.rs, built by `make test` or here), with the
# settings of local/local.env (events/ carry base64(API_KEY) of that file; APPS gives the apps
# of events/apps/). It starts them, waits until they answer, and sets up_env for the hook.
up_port=$(free_port)
cargo build --quiet --example local_upstreams
upstreams=${CARGO_TARGET_DIR:-target}/debug/examples/local_upstreams
(
    set -a
    # shellcheck disable=SC1091
    . local/local.env
    API_URI=http://127.0.0.1:$up_port
    exec "$upstreams" "$up_port"
) > "$work/upstreams.log" 2>&1 &
pids+=($!)
wait_for "$work/upstreams.log" "stand-ins on" "the NL3 and ipinfo stand-ins"
setting() { (set -a; . local/local.env; eval "printf %s \"\$$1\""); }
up_env=(
    "APP_URI=$(setting APP_URI)" "API_URI=http://127.0.0.1:$up_port" "API_PATH=$(setting API_PATH)"
    "IPINFO_URL=http://127.0.0.1:$up_port" "API_KEY=$(setting API_KEY)"
    "SIGNING_KEY=$(setting SIGNING_KEY)" "IPINFO_TOKEN=$(setting IPINFO_TOKEN)"
    "APPS=$(setting APPS)"
)
# ---------------------------------------------------------------------------------------------

rt_port=$(free_port)
cargo lambda watch --only-lambda-apis -A 127.0.0.1 -P "$rt_port" > "$work/emulator.log" 2>&1 &
pids+=($!)
wait_for "$work/emulator.log" "starting Runtime server" "the Lambda emulator"

start=$(date +%s%N)
env -i PATH=/usr/bin:/bin "${up_env[@]}" \
    FAIL_OPEN=false HOOK_TIMEOUT_MS=2500 \
    AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$rt_port/.rt" AWS_LAMBDA_FUNCTION_NAME=_ \
    AWS_LAMBDA_FUNCTION_VERSION=1 AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 \
    POWERTOOLS_SERVICE_NAME=nl3-okta-hook-arm64 \
    "$qemu" -L "$ARM64_ROOT" "$work/bootstrap" > "$work/function.log" 2>&1 &
fn_pid=$!
pids+=("$fn_pid")
wait_for "$work/function.log" '"message":"ready"' "the arm64 hook to start under qemu"
echo "== arm64 bootstrap under qemu: $(stat -c %s "$zip") bytes zipped ($zip)"

# Every event, with the status and decision events/expected.tsv gives it.
passed=0 failed=0
while IFS=$'\t' read -r file status decision; do
    case "$file" in '#'*|'') continue ;; esac
    event=events/$file
    if ! kill -0 "$fn_pid" 2>/dev/null; then
        echo "FAIL $event: the arm64 hook is no longer running"
        failed=$((failed + 1)); continue
    fi
    if ! answer=$(timeout 60 cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port "$rt_port" \
            --data-file "$event" --output-format json 2>"$work/invoke.err"); then
        echo "FAIL $event: invoke failed: $(cat "$work/invoke.err")"
        failed=$((failed + 1)); continue
    fi
    if verdict=$(python3 - "$answer" "$status" "$decision" <<'PY'
import json, sys
answer, status, decision = sys.argv[1], int(sys.argv[2]), sys.argv[3]
r = json.loads(answer)
body = json.loads(r["body"])
got = body.get("debugContext", {}).get("decision", "-")
error = body.get("error", {}).get("errorSummary")
ok = r["statusCode"] == status and (decision == "-" or got == decision)
if decision in ("locked", "forbidden", "-"):
    ok = ok and isinstance(error, str)
else:
    ok = ok and error is None
print(f"{r['statusCode']} {got}")
sys.exit(0 if ok else 1)
PY
    ); then
        echo "ok   $event -> $verdict"
        passed=$((passed + 1))
    else
        echo "FAIL $event -> $verdict (expected $status $decision): $answer"
        failed=$((failed + 1))
    fi
done < events/expected.tsv
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
if [ "$failed" != 0 ]; then
    echo "--- function log"; tail -n 40 "$work/function.log"
fi
echo "arm64 events under qemu took ${elapsed_ms} ms"
echo "arm64: $passed passed, $failed failed"
[ "$failed" = 0 ]
