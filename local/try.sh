#!/usr/bin/env bash
# `make try`: every event in events/ sent to the hook running locally (started here when it is
# not running yet), one line each: the event, the status and decision it got, and whether that is
# what events/expected.tsv says. Then the after-sign-in guard: the Okta stand-in delivers a
# sign-in (`user.session.start`) of the sample org's locked user and one of its unlocked user
# through its event hook; one line each: the user, what the guard did, what the Okta stand-in
# recorded (local/guard.py). Exits non-zero on any difference. The ports and LOCAL_RUN_DIR are
# run.sh's.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
INVOKE_PORT=${INVOKE_PORT:-9000}
OKTA_PORT=${OKTA_PORT:-9012}
state=${LOCAL_RUN_DIR:-target/local-run}
guard_env=${LOCAL_GUARD_ENV_FILE:-local/guard.env}
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

okta_org=$(sed -n 's/^seeded org \([^:]*\):.*/\1/p' "$state/okta.log" 2>/dev/null || true)
if [ -z "$okta_org" ]; then
    printf '\nGUARD: no Okta stand-in in %s: the running `make run` predates the guard; restart it\n' "$state"
    exit 1
fi
quarantine=$(sed -n 's/^QUARANTINE_GROUP_ID=//p' "$guard_env" | tail -n 1)
python3 local/guard.py try "http://127.0.0.1:$OKTA_PORT" "$okta_org" \
    tests/okta_stand_in/sample-org.json "$state/guard-watch.log" "$quarantine" || failed=1
exit "$failed"
