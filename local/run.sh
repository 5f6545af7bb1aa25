#!/usr/bin/env bash
# `make run`: the hook under `cargo lambda watch` (Lambda's emulator, on 127.0.0.1:9000), with
# local stand-ins for NL3 and ipinfo (examples/local_upstreams.rs, the tests' own). No AWS
# account, no internet. LOCAL_SECRETS=moto serves the secrets from a local Secrets Manager
# (moto) instead of the environment. `local/run.sh --background` returns once the hook answers
# (for `make try` and the README check); `local/stop.sh` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
INVOKE_PORT=${INVOKE_PORT:-9000}
UPSTREAMS_PORT=9010
MOTO_PORT=9011
state=target/local-run
mkdir -p "$state"
env_file="$state/hook.env"
grep -v '^#' local/local.env > "$env_file"

# The stand-ins check the NL3 JWT and the ipinfo token with the same settings the hook uses.
set -a
# shellcheck disable=SC1091
. local/local.env
set +a

echo "== building the hook and the stand-ins (the first time takes a few minutes)"
cargo build --bin nl3-okta-hook --example local_upstreams

pids=()
stop() { kill "${pids[@]}" 2>/dev/null || true; }
cargo run --quiet --example local_upstreams -- "$UPSTREAMS_PORT" &
pids+=($!)

if [ "${LOCAL_SECRETS:-env}" = moto ]; then
    moto_server -H 127.0.0.1 -p "$MOTO_PORT" >"$state/moto.log" 2>&1 &
    pids+=($!)
    python3 - "$MOTO_PORT" <<'PY'
import json, os, sys, time, boto3
url = f"http://127.0.0.1:{sys.argv[1]}"
sm = boto3.client("secretsmanager", endpoint_url=url, region_name="us-east-1",
                  aws_access_key_id="local", aws_secret_access_key="local")
secret = {k: os.environ[k] for k in ("API_KEY", "SIGNING_KEY", "IPINFO_TOKEN")}
secret["APPS"] = json.loads(os.environ.get("APPS", "{}"))
secret = json.dumps(secret)
for _ in range(100):
    try:
        sm.create_secret(Name="nl3/okta-hook", SecretString=secret)
        break
    except Exception as e:
        if "ResourceExistsException" in str(e):
            break
        time.sleep(0.1)  # moto still starting
else:
    sys.exit(f"could not create the secret in the local Secrets Manager at {url}")
print(f"secret nl3/okta-hook created in the local Secrets Manager at {url}")
PY
    grep -v -E '^(API_KEY|SIGNING_KEY|IPINFO_TOKEN|APPS)=' "$env_file" > "$env_file.moto"
    cat >> "$env_file.moto" <<EOF2
SECRET_ID=nl3/okta-hook
AWS_ENDPOINT_URL=http://127.0.0.1:$MOTO_PORT
AWS_REGION=us-east-1
AWS_ACCESS_KEY_ID=local
AWS_SECRET_ACCESS_KEY=local
EOF2
    mv "$env_file.moto" "$env_file"
fi

cargo lambda watch --bin nl3-okta-hook -A 127.0.0.1 -P "$INVOKE_PORT" --env-file "$env_file" >"$state/watch.log" 2>&1 &
pids+=($!)
echo "${pids[*]}" > "$state/pids"

# Ready when the hook answers an event (the emulator starts the function on the first invoke).
# cargo lambda watch builds the hook again with its own flags first: show its progress.
echo "== starting cargo lambda watch (it builds the hook with its own flags; log: $state/watch.log)"
shown=
for i in $(seq 1 600); do
    if [ $((i % 10)) = 0 ]; then
        last=$(grep -aoE '(Compiling|Building|Finished|Running) .*' "$state/watch.log" | tail -n 1 || true)
        if [ -n "$last" ] && [ "$last" != "$shown" ]; then
            echo "   ${last:0:100}"
            shown=$last
        fi
    fi
    if cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port "$INVOKE_PORT" \
        --data-file events/rest/token-client-credentials.json >/dev/null 2>&1; then
        ready=1
        break
    fi
    if ! kill -0 "${pids[@]}" 2>/dev/null; then
        cat "$state/watch.log"
        stop
        echo "the emulator or a stand-in stopped; see above"
        exit 1
    fi
    sleep 0.5
done
if [ -z "${ready:-}" ]; then
    stop
    echo "the hook did not answer within 5 minutes; log: $state/watch.log"
    exit 1
fi

cat <<MSG

nl3-okta-hook is running under cargo lambda watch on http://127.0.0.1:$INVOKE_PORT
(NL3 and ipinfo stand-ins on :$UPSTREAMS_PORT; users whose login starts with "locked" are locked).
Try it from another terminal in this directory (\`make try\` sends every sample event):

  .venv/bin/cargo-lambda lambda invoke --invoke-address 127.0.0.1 --data-file events/rest/token-unlocked.json

MSG
if [ "${1:-}" = --background ]; then
    exit 0
fi
# Ctrl-C is how this ends: stop everything and exit 0 (not make's "Error 130").
trap stop EXIT
trap 'stop; echo; echo "stopped"; exit 0' INT TERM
echo "(logs follow; Ctrl-C stops everything)"
tail -n +1 -f "$state/watch.log" &
wait $! || true
