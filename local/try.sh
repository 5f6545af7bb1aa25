#!/usr/bin/env bash
# `make try`: every event in events/ sent to the hook running locally (started here when it is
# not running yet), one line each: the event, the status and decision it got, and whether that is
# what events/expected.tsv says. Exits non-zero on any difference.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
INVOKE_PORT=${INVOKE_PORT:-9000}
if ! cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port "$INVOKE_PORT" \
    --data-file events/rest/token-client-credentials.json >/dev/null 2>&1; then
    # Stopped again on every exit, a failed invoke included.
    trap 'local/stop.sh' EXIT
    local/run.sh --background
fi
failed=0
printf '%-44s %-6s %-12s %-14s %s\n' EVENT STATUS DECISION APP "ANSWER (errorSummary)"
while IFS=$'\t' read -r file status decision; do
    case "$file" in '#'*|'') continue ;; esac
    answer=$(cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port "$INVOKE_PORT" \
        --data-file "events/$file" --output-format json)
    got=$(python3 -c '
import json, sys
r = json.loads(sys.argv[1]); b = json.loads(r["body"])
d = b.get("debugContext", {})
print(r["statusCode"], d.get("decision", "-"), d.get("app", "-"), b.get("error", {}).get("errorSummary", ""), sep="\t")' "$answer")
    IFS=$'\t' read -r got_status got_decision app summary <<<"$got"
    mark=ok
    if [ "$got_status" != "$status" ] || [ "$got_decision" != "$decision" ]; then
        mark="EXPECTED $status $decision"
        failed=1
    fi
    printf '%-44s %-6s %-12s %-14s %s  %s\n' "$file" "$got_status" "$got_decision" "$app" "${summary:--}" "$mark"
done < events/expected.tsv
exit "$failed"
