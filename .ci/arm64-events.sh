#!/usr/bin/env bash
# Runs the arm64 Lambda zip's bootstrap under qemu-aarch64-static, attached to cargo-lambda's
# Lambda emulator (the Runtime API), and answers every event in events/ with it, checking each
# answer against the decision events/README.md lists.
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
# (local/upstreams.py on loopback, with the secrets of local/local.env; events/ carry
# base64(API_KEY) of that file). If the stand-ins change, change this block only: it must start
# them, wait until they answer, and set up_env to the hook's settings that point at them.
setting() { grep "^$1=" local/local.env | cut -d= -f2- | sed 's/^"\(.*\)"$/\1/'; }
up_port=$(free_port)
API_KEY=$(setting API_KEY) SIGNING_KEY=$(setting SIGNING_KEY) IPINFO_TOKEN=$(setting IPINFO_TOKEN) \
    python3 local/upstreams.py --port "$up_port" > "$work/upstreams.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
    python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$up_port/', timeout=1)" 2>/dev/null && break
    sleep 0.1
done
up_env=(
    "APP_URI=$(setting APP_URI)" "API_URI=http://127.0.0.1:$up_port" "API_PATH=$(setting API_PATH)"
    "IPINFO_URL=http://127.0.0.1:$up_port" "API_KEY=$(setting API_KEY)"
    "SIGNING_KEY=$(setting SIGNING_KEY)" "IPINFO_TOKEN=$(setting IPINFO_TOKEN)"
)
# ---------------------------------------------------------------------------------------------

locked_message="Locked by NL3 (arm64 check)."
rt_port=$(free_port)
cargo lambda watch --only-lambda-apis -A 127.0.0.1 -P "$rt_port" > "$work/emulator.log" 2>&1 &
pids+=($!)
wait_for "$work/emulator.log" "starting Runtime server" "the Lambda emulator"

start=$(date +%s%N)
env -i PATH=/usr/bin:/bin "${up_env[@]}" \
    LOCKED_MESSAGE="$locked_message" FAIL_OPEN=false HOOK_TIMEOUT_MS=2500 \
    AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$rt_port/.rt" AWS_LAMBDA_FUNCTION_NAME=_ \
    AWS_LAMBDA_FUNCTION_VERSION=1 AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 \
    POWERTOOLS_SERVICE_NAME=nl3-okta-hook-arm64 \
    "$qemu" -L "$ARM64_ROOT" "$work/bootstrap" > "$work/function.log" 2>&1 &
fn_pid=$!
pids+=("$fn_pid")
wait_for "$work/function.log" '"message":"ready"' "the arm64 hook to start under qemu"
echo "== arm64 bootstrap under qemu: $(stat -c %s "$zip") bytes zipped ($zip)"

# event  expected status  expected decision (events/README.md; "" = a 400 with an errorSummary)
cases=(
    "token-unlocked 200 allowed"
    "token-locked 200 locked"
    "saml-unlocked 200 allowed"
    "saml-locked 200 locked"
    "token-preview-no-identity 200 allowed"
    "token-client-credentials 200 no_user"
    "token-bad-auth 200 forbidden"
    "token-unlocked-base64-body 200 allowed"
    "not-json 400 -"
)
passed=0 failed=0
for shape in rest http; do
    for case in "${cases[@]}"; do
        read -r name status decision <<<"$case"
        event=events/$shape/$name.json
        if ! kill -0 "$fn_pid" 2>/dev/null; then
            echo "FAIL $event: the arm64 hook is no longer running"
            failed=$((failed + 1)); continue
        fi
        if ! answer=$(timeout 60 cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port "$rt_port" \
                --data-file "$event" --output-format json 2>"$work/invoke.err"); then
            echo "FAIL $event: invoke failed: $(cat "$work/invoke.err")"
            failed=$((failed + 1)); continue
        fi
        if verdict=$(python3 - "$answer" "$status" "$decision" "$locked_message" <<'PY'
import json, sys
answer, status, decision, locked = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
r = json.loads(answer)
body = json.loads(r["body"])
got = body.get("debugContext", {}).get("decision", "-")
error = body.get("error", {}).get("errorSummary")
ok = r["statusCode"] == status and (decision == "-" or got == decision)
if decision == "locked":
    ok = ok and error == locked
elif decision == "forbidden":
    ok = ok and error == "Okta Hook Forbidden"
elif decision == "-":
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
    done
done
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
if [ "$failed" != 0 ]; then
    echo "--- function log"; tail -n 40 "$work/function.log"
fi
echo "arm64 events under qemu took ${elapsed_ms} ms"
echo "arm64: $passed passed, $failed failed"
[ "$failed" = 0 ]
