#!/usr/bin/env bash
# `make run`: the hook under `cargo lambda watch`, talking to local stand-ins for NL3 and ipinfo
# (local/upstreams.py). No AWS account, no internet. LOCAL_SECRETS=moto serves the secrets from a
# local Secrets Manager (moto) instead of the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
INVOKE_PORT=${INVOKE_PORT:-9000}
UPSTREAMS_PORT=9010
MOTO_PORT=9011
env_file=$(mktemp)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -f "$env_file"' EXIT
grep -v '^#' local/local.env > "$env_file"

# The stand-ins check the NL3 JWT and the ipinfo token with the same secrets the hook uses.
setting() { grep "^$1=" local/local.env | cut -d= -f2-; }
export API_KEY=$(setting API_KEY) SIGNING_KEY=$(setting SIGNING_KEY) IPINFO_TOKEN=$(setting IPINFO_TOKEN)
python3 local/upstreams.py --port "$UPSTREAMS_PORT" &

if [ "${LOCAL_SECRETS:-env}" = moto ]; then
    moto_server -H 127.0.0.1 -p "$MOTO_PORT" >/dev/null 2>&1 &
    python3 - "$MOTO_PORT" <<'PY'
import json, os, sys, time, boto3
url = f"http://127.0.0.1:{sys.argv[1]}"
sm = boto3.client("secretsmanager", endpoint_url=url, region_name="us-east-1",
                  aws_access_key_id="local", aws_secret_access_key="local")
for _ in range(100):
    try:
        sm.create_secret(Name="nl3/okta-hook", SecretString=json.dumps(
            {k: os.environ[k] for k in ("API_KEY", "SIGNING_KEY", "IPINFO_TOKEN")}))
        break
    except Exception:
        time.sleep(0.1)  # moto still starting
print(f"secret nl3/okta-hook created in the local Secrets Manager at {url}")
PY
    grep -v -E '^(API_KEY|SIGNING_KEY|IPINFO_TOKEN)=' "$env_file" > "$env_file.moto"
    cat >> "$env_file.moto" <<EOF2
SECRET_ID=nl3/okta-hook
AWS_ENDPOINT_URL=http://127.0.0.1:$MOTO_PORT
AWS_REGION=us-east-1
AWS_ACCESS_KEY_ID=local
AWS_SECRET_ACCESS_KEY=local
EOF2
    mv "$env_file.moto" "$env_file"
fi

cat <<MSG

nl3-okta-hook is starting under cargo lambda watch on http://127.0.0.1:$INVOKE_PORT
(NL3 and ipinfo stand-ins on :$UPSTREAMS_PORT; users whose login starts with "locked" are locked).
In another terminal:

  cargo lambda invoke --invoke-address 127.0.0.1 --data-file events/rest/token-unlocked.json   # allowed
  cargo lambda invoke --invoke-address 127.0.0.1 --data-file events/rest/token-locked.json     # locked
  cargo lambda invoke --invoke-address 127.0.0.1 --data-file events/http/saml-locked.json
  cargo lambda invoke --invoke-address 127.0.0.1 --data-file events/rest/token-bad-auth.json   # Okta Hook Forbidden
  curl -s -X POST http://127.0.0.1:$INVOKE_PORT/lambda-url/nl3-okta-hook/okta/hook \\
       -H "Authorization: $(printf %s "$API_KEY" | base64)" \\
       --data @tests/fixtures/okta/token-hook-request.json

(with .venv/bin on PATH, as \`make run\` sets it; Ctrl-C stops everything)

MSG
cargo lambda watch -A 127.0.0.1 -P "$INVOKE_PORT" --env-file "$env_file"
