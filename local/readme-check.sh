#!/usr/bin/env bash
# The README's "Trying it locally" commands, run exactly as written against `make run`'s hook,
# each answer compared with the decision its `# comment` names. So they cannot drift again.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
section=$(awk '/^### Trying it locally/{on=1; next} on && /^##/{exit} on' README.md)
commands=$(printf '%s\n' "$section" | grep -E '^(\.venv/bin/cargo-lambda|curl) .*# [a-z_]+$' || true)
count=$(printf '%s\n' "$commands" | grep -c . || true)
[ "$count" -ge 3 ] || { echo "readme-check: found only $count commands in the README's 'Trying it locally'"; exit 1; }

if ! .venv/bin/cargo-lambda lambda invoke --invoke-address 127.0.0.1 \
    --data-file events/rest/token-client-credentials.json >/dev/null 2>&1; then
    # Stopped again on every exit, a failed invoke included.
    trap 'local/stop.sh' EXIT
    local/run.sh --background >/dev/null
fi
failed=0
while IFS= read -r line; do
    expected=${line##*# }
    command=${line%#*}
    answer=$(bash -c "$command")
    got=$(python3 -c '
import json, sys
r = json.loads(sys.argv[1])
b = json.loads(r["body"]) if "statusCode" in r else r
print(b.get("debugContext", {}).get("decision", "bad_request" if "error" in b else "?"))' "$answer")
    if [ "$got" = "$expected" ]; then
        echo "ok    $expected  ${command:0:110}"
    else
        echo "FAIL  got $got, README says $expected: $command"
        failed=1
    fi
done <<<"$commands"
[ "$failed" = 0 ] && echo "readme-check: $count README commands gave the documented answers"
exit "$failed"
