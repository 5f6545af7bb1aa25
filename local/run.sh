#!/usr/bin/env bash
# `make run`: the hook under `cargo lambda watch` (Lambda's emulator), with local stand-ins for
# NL3 and ipinfo (examples/local_upstreams.rs, the tests' own); and the after-sign-in guard
# (docs/after-sign-in.md): the Okta stand-in (tests/okta_stand_in/) with the sample org, whose
# event hook `nl3-okta-admin setup --events` registers; the receiver (nl3-okta-events) and the
# worker (nl3-okta-guard) under a second `cargo lambda watch` (the admin package's functions, by
# name); SQS, with the guard's FIFO queue and its dead-letter queue, and Secrets Manager from moto;
# and local/sqs_source.py standing in for Lambda's SQS event source. All on 127.0.0.1. No AWS
# account, no internet. LOCAL_SECRETS=moto serves the hook's secret from moto's Secrets Manager
# instead of the environment (the guard's Okta credentials always come from there).
#
# Ports, each checked before anything starts: INVOKE_PORT, the hook (9000); EVENTS_PORT, the
# receiver and the worker (9001); UPSTREAMS_PORT, the NL3/ipinfo stand-ins (9010); MOTO_PORT, moto
# (9011); OKTA_PORT, the Okta stand-in (9012). LOCAL_ENV_FILE: the hook's settings
# (local/local.env), which the receiver and the worker read too; LOCAL_GUARD_ENV_FILE: theirs
# (local/guard.env); in both, 127.0.0.1:9010, :9011 and :9012 become UPSTREAMS_PORT, MOTO_PORT
# and OKTA_PORT. LOCAL_RUN_DIR: the logs and the list of the processes started (target/local-run).
#
# Ready only once the hook has answered a locked user's event `locked`, an answer that went
# through the NL3 stand-in, and the guard's path is whole: the event hook VERIFIED (the receiver
# answered Okta's challenge with the hook secret), the worker has checked a probe sign-in through
# NL3 without handing it back, and the event source polls the queue. A part that stops, before or
# after that, stops the run (exit 1).
# Ctrl-C, whenever it comes, stops every process the run started, and the script exits 0 (`make
# run` itself exits 130 then: make reports the interrupt it received as well).
# `local/run.sh --background` returns once ready (for `make try` and the README check);
# `local/stop.sh` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
# shellcheck source=local/lib.sh
. local/lib.sh

INVOKE_PORT=${INVOKE_PORT:-9000}
EVENTS_PORT=${EVENTS_PORT:-9001}
UPSTREAMS_PORT=${UPSTREAMS_PORT:-9010}
MOTO_PORT=${MOTO_PORT:-9011}
OKTA_PORT=${OKTA_PORT:-9012}
env_source=${LOCAL_ENV_FILE:-local/local.env}
guard_source=${LOCAL_GUARD_ENV_FILE:-local/guard.env}
seed=tests/okta_stand_in/sample-org.json
state=${LOCAL_RUN_DIR:-target/local-run}
background=
if [ "${1:-}" = --background ]; then background=1; fi

# The stop handler comes before anything starts: every way out stops every process started so
# far (in the background, once ready, local/stop.sh does).
part_pids=() part_names=() part_logs=()
probe_pid= tick_pid= owns_pids=
stop() {
    local all=("${part_pids[@]}")
    if [ -n "$probe_pid" ]; then all+=("$probe_pid"); fi
    if [ -n "$tick_pid" ]; then all+=("$tick_pid"); fi
    # shellcheck disable=SC2207
    if [ -n "$owns_pids" ]; then all+=($(recorded "$state/pids")); fi
    part_pids=() probe_pid= tick_pid=
    if [ ${#all[@]} -gt 0 ]; then stop_tree "${all[@]}"; fi
    if [ -n "$owns_pids" ]; then rm -f "$state/pids"; fi
    owns_pids=
}
trap stop EXIT
trap 'stop; echo; echo "stopped"; exit 0' INT TERM

fail() { # fail MESSAGE...: says why on stderr and exits 1 (the EXIT trap stops everything)
    printf '%s\n' "$@" >&2
    exit 1
}

# start NAME LOG COMMAND...: COMMAND in the background, its output in LOG ("-": this terminal),
# recorded as a part of the run.
start() {
    local name=$1 log=$2
    shift 2
    if [ "$log" = - ]; then "$@" & else "$@" >"$log" 2>&1 & fi
    part_pids+=("$!") part_names+=("$name") part_logs+=("$log")
    printf '%s\t%s\t%s\n' "$!" "$name" "$(started "$!")" >> "$state/pids"
}

# check_parts: fails, naming it and showing the end of its log, when a part has stopped.
check_parts() {
    local i
    for i in "${!part_pids[@]}"; do
        alive "${part_pids[$i]}" && continue
        local log=${part_logs[$i]}
        echo "${part_names[$i]} (pid ${part_pids[$i]}) stopped." >&2
        if [ -f "$log" ]; then
            echo "The end of its log, $log:" >&2
            tail -n 15 "$log" | sed 's/^/    /' >&2
        fi
        fail "Everything else this run started is stopped too."
    done
}

# until_ready WHAT SECONDS COMMAND...: COMMAND, every half second until it exits 0 (ready; what
# it printed is shown); exit 1 fails the run with what it printed, any other exit (not answering
# yet) is asked again, for at most SECONDS.
until_ready() {
    local what=$1 limit=$2 out rc
    local deadline=$((SECONDS + limit))
    shift 2
    while :; do
        rc=0
        out=$("$@" 2>&1) || rc=$?
        if [ "$rc" = 0 ]; then
            if [ -n "$out" ]; then printf '%s\n' "$out"; fi
            return 0
        fi
        check_parts
        if [ "$rc" = 1 ]; then fail "Not ready: $what: $out"; fi
        [ "$SECONDS" -lt "$deadline" ] || fail "Not ready: $what within $limit s: $out"
        sleep 0.5
    done
}

# until_logged WHAT PATTERN LOG: waits up to 30 s for a part to write PATTERN (grep) in its LOG,
# failing the run as soon as any part stops.
until_logged() {
    local what=$1 pattern=$2 log=$3
    for _ in $(seq 1 300); do
        grep -q "$pattern" "$log" && return 0
        check_parts
        sleep 0.1
    done
    fail "Not ready: $what within 30 s (log: $log)"
}

# 1. The ports, before anything starts.
ports=("$INVOKE_PORT=the hook (INVOKE_PORT)"
    "$EVENTS_PORT=the guard's receiver and worker (EVENTS_PORT)"
    "$UPSTREAMS_PORT=the NL3/ipinfo stand-ins (UPSTREAMS_PORT)"
    "$MOTO_PORT=the local SQS and Secrets Manager, moto (MOTO_PORT)"
    "$OKTA_PORT=the Okta stand-in (OKTA_PORT)")
if ! problems=$(python3 local/ports.py --pids "$state/pids" "${ports[@]}"); then
    fail "$problems" \
        "Nothing was started. Free the port, or run on other ports, e.g." \
        "  INVOKE_PORT=9100 EVENTS_PORT=9101 UPSTREAMS_PORT=9110 MOTO_PORT=9111 OKTA_PORT=9112 make run"
fi
earlier=$(recorded "$state/pids")
if [ -n "$earlier" ]; then
    fail "An earlier run from $state still runs (pids: $(echo $earlier)): stop it (Ctrl-C in its" \
        "terminal, or local/stop.sh), or give this run a directory of its own with LOCAL_RUN_DIR."
fi
mkdir -p "$state"
: > "$state/pids"
owns_pids=1

# 2. The settings: the hook reads them from the env file; the stand-ins check the NL3 JWT and the
#    ipinfo token with the same ones.
# on_ports FILE: FILE without its comments, with this run's ports for the default ones.
on_ports() {
    grep -v '^#' "$1" | python3 -c '
import re, sys
ports = dict(zip(("9010", "9011", "9012"), sys.argv[1:]))
sys.stdout.write(re.sub(r"127\.0\.0\.1:(901[012])\b", lambda m: "127.0.0.1:" + ports[m.group(1)], sys.stdin.read()))
' "$UPSTREAMS_PORT" "$MOTO_PORT" "$OKTA_PORT"
}
# setting NAME FILE: NAME's value in an env file (unquoted values only).
setting() { sed -n "s/^$1=//p" "$2" | tail -n 1; }
env_file="$state/hook.env"
on_ports "$env_source" > "$env_file"
guard_env="$state/guard.env"
on_ports "$guard_source" > "$guard_env"
queue_url=$(setting EVENTS_QUEUE_URL "$guard_env")
okta_secret=$(setting OKTA_SECRET_ID "$guard_env")
quarantine=$(setting QUARANTINE_GROUP_ID "$guard_env")
set -a
# shellcheck disable=SC1090
. "$env_file"
set +a

echo "== building the hook, the guard's functions and the stand-ins (the first time takes a few minutes)"
# executable NAME: the path of the executable NAME in the JSON messages of a cargo build.
executable() {
    python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == sys.argv[1]:
        print(m["executable"])' "$1"
}
upstreams_bin=$(cargo build --bin nl3-okta-hook --example local_upstreams \
    --message-format=json-render-diagnostics | executable local_upstreams)
# Built as the second `cargo lambda watch` runs them (the admin package alone: its own features).
admin_bin=$(cargo build -p nl3-okta-admin --bin nl3-okta-events --bin nl3-okta-guard \
    --bin nl3-okta-admin --message-format=json-render-diagnostics | executable nl3-okta-admin)

# 3. The NL3/ipinfo stand-ins; ready once they say where they listen.
start "the NL3/ipinfo stand-ins" "$state/upstreams.log" "$upstreams_bin" "$UPSTREAMS_PORT"
until_logged "the NL3/ipinfo stand-ins did not start listening" 'stand-ins on http' "$state/upstreams.log"

# 4. The Okta stand-in with the sample org (its API token is the one the guard's secret holds).
start "the Okta stand-in" "$state/okta.log" \
    python3 tests/okta_stand_in/server.py "$OKTA_PORT" --seed "$seed" --detach
until_logged "the Okta stand-in did not seed the sample org" '^seeded org' "$state/okta.log"
okta_org=$(sed -n 's/^seeded org \([^:]*\):.*/\1/p' "$state/okta.log")
okta_token=$(sed -n 's/^seeded org .* OKTA_API_TOKEN=\(.*\)$/\1/p' "$state/okta.log")
okta_url=http://127.0.0.1:$OKTA_PORT

# 5. moto: SQS with the guard's queues, Secrets Manager with the guard's Okta credentials (and,
#    with LOCAL_SECRETS=moto, the hook's secret).
start "the local SQS and Secrets Manager (moto)" "$state/moto.log" moto_server -H 127.0.0.1 -p "$MOTO_PORT"
echo "== the local SQS and Secrets Manager (moto) on 127.0.0.1:$MOTO_PORT hold"
hook_secret=()
if [ "${LOCAL_SECRETS:-env}" = moto ]; then hook_secret=(--hook-secret nl3/okta-hook); fi
python3 local/aws_local.py "http://127.0.0.1:$MOTO_PORT" --queue-url "$queue_url" \
    --okta-secret "$okta_secret" --okta-token "$okta_token" "${hook_secret[@]}" ||
    { check_parts; fail "see above (log: $state/moto.log)"; }
if [ "${LOCAL_SECRETS:-env}" = moto ]; then
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

# The receiver's and the worker's settings: the hook's, then the guard's own.
admin_env="$state/admin.env"
{
    grep -v -E "^($(cut -d= -f1 "$guard_env" | paste -sd'|' -))=" "$env_file" || true
    cat "$guard_env"
} > "$admin_env"

# 6. The hook under the emulator, and the receiver and the worker under a second one. The hook
#    is ready when it answers a locked user's event `locked`: the emulator starts (and, if need
#    be, builds) the hook on the first invoke, and that answer can only come from the NL3
#    stand-in (without it, FAIL_OPEN lets the user in).
start "cargo lambda watch (the hook)" "$state/watch.log" \
    cargo lambda watch --bin nl3-okta-hook -A 127.0.0.1 -P "$INVOKE_PORT" --env-file "$env_file"
start "cargo lambda watch (the guard's receiver and worker)" "$state/guard-watch.log" \
    cargo lambda watch -p nl3-okta-admin -A 127.0.0.1 -P "$EVENTS_PORT" --env-file "$admin_env"
echo "== starting the hook under cargo lambda watch on 127.0.0.1:$INVOKE_PORT (log: $state/watch.log)"
probe_event=events/rest/token-locked.json
answer_of() { # answer_of FILE: the decision and reason in a `cargo lambda invoke` answer
    python3 -c '
import json, sys
try:
    d = json.loads(json.load(open(sys.argv[1]))["body"]).get("debugContext", {})
    print(d.get("decision", "?"), "-", d.get("reason", "no reason given"))
except Exception as e:
    print("? - not an answer the hook gives:", open(sys.argv[1]).read()[:200])' "$1"
}
deadline=$((SECONDS + 600))
shown= i=0
while :; do
    if [ -z "$probe_pid" ]; then
        cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port "$INVOKE_PORT" \
            --data-file "$probe_event" --output-format json >"$state/probe.json" 2>"$state/probe.err" &
        probe_pid=$!
    elif ! alive "$probe_pid"; then
        pid=$probe_pid probe_pid=
        if wait "$pid"; then
            answer=$(answer_of "$state/probe.json")
            [ "${answer%% *}" = locked ] && break
            check_parts
            fail "Not ready: the hook answered $probe_event (a locked user) \"${answer%% - *}\"," \
                "not \"locked\": ${answer#* - }" \
                "The NL3 stand-in on 127.0.0.1:$UPSTREAMS_PORT did not decide it. Log: $state/watch.log"
        fi
        # Not answering yet (the emulator still starting): asked again below.
    fi
    check_parts
    if grep -qE '^error(\[E[0-9]+\])?:' "$state/watch.log"; then
        tail -n 30 "$state/watch.log" | sed 's/^/    /' >&2
        fail "cargo lambda watch could not build the hook (above; log: $state/watch.log)"
    fi
    if [ $((i % 10)) = 0 ]; then
        last=$(grep -aoE '(Compiling|Building|Finished|Running) .*' "$state/watch.log" | tail -n 1 || true)
        if [ -n "$last" ] && [ "$last" != "$shown" ]; then
            echo "   ${last:0:100}"
            shown=$last
        fi
    fi
    [ "$SECONDS" -lt "$deadline" ] ||
        fail "The hook did not answer within 10 minutes; log: $state/watch.log"
    i=$((i + 1))
    sleep 0.5
done

# 7. The guard's path, in the order an event takes it. The receiver: it refuses a call without
#    the hook secret (the emulator starts it on that first call). The event hook: registered as
#    a user registers it, and verified by the Okta stand-in, which calls the receiver with its
#    challenge and the hook secret. The worker: it checks a probe sign-in through NL3 and hands
#    nothing back. The event source: it polls the queue.
events_url=http://127.0.0.1:$EVENTS_PORT/lambda-url/nl3-okta-events/okta/events
worker_url=http://127.0.0.1:$EVENTS_PORT/2015-03-31/functions/nl3-okta-guard/invocations
echo "== starting the guard's receiver and worker under cargo lambda watch on 127.0.0.1:$EVENTS_PORT (log: $state/guard-watch.log)"
until_ready "the receiver on $events_url (log: $state/guard-watch.log)" 120 \
    python3 local/guard.py receiver "$events_url"
echo "== registering the guard's event hook in the Okta stand-in (sample org on $okta_url):"
echo "   nl3-okta-admin setup --events --hook-url ... --events-url $events_url"
if ! (
    set -a
    # shellcheck disable=SC1090
    . "$admin_env"
    OKTA_API_TOKEN=$okta_token
    exec "$admin_bin" setup --events --events-url "$events_url" \
        --hook-url "http://127.0.0.1:$INVOKE_PORT/lambda-url/nl3-okta-hook/okta/hook"
) >"$state/setup.log" 2>&1; then
    sed 's/^/    /' "$state/setup.log" >&2
    check_parts
    fail "Not ready: nl3-okta-admin setup --events failed (above; the receiver's log: $state/guard-watch.log)"
fi
sed 's/^/   /' "$state/setup.log"
until_ready "the guard's event hook" 10 python3 local/guard.py verified "$okta_url" "$okta_org" "$events_url"
until_ready "the worker on $worker_url (log: $state/guard-watch.log)" 120 \
    python3 local/guard.py worker "$worker_url"
start "the SQS event source (local/sqs_source.py)" "$state/sqs-source.log" \
    python3 local/sqs_source.py "http://127.0.0.1:$MOTO_PORT" "$queue_url" "$worker_url"
until_logged "the SQS event source did not reach the queue" '^polling' "$state/sqs-source.log"

port_flag=
if [ "$INVOKE_PORT" != 9000 ]; then port_flag=" --invoke-port $INVOKE_PORT"; fi
cat <<MSG

nl3-okta-hook is ready under cargo lambda watch on http://127.0.0.1:$INVOKE_PORT: it answered a
locked user's event "locked", through the NL3 and ipinfo stand-ins on :$UPSTREAMS_PORT (users
whose login starts with "locked" are locked). Try it from another terminal in this directory
(\`make try\` sends every sample event):

  .venv/bin/cargo-lambda lambda invoke --invoke-address 127.0.0.1$port_flag --data-file events/rest/token-unlocked.json

The after-sign-in guard is ready too: the Okta stand-in serves the sample org on $okta_url
(org $okta_org), whose event hook, VERIFIED, calls the receiver on :$EVENTS_PORT; the receiver
queues each event on the local SQS (moto, :$MOTO_PORT), and local/sqs_source.py hands them to
the worker, which contains a locked user (sessions revoked, quarantine group $quarantine).
\`make try\` ends with a sign-in of the sample org's locked user and one of its unlocked user.

MSG
# What runs below the parts now (the hook, which cargo lambda watch runs in a session of its
# own) is recorded too: stopped with them even if its parent is gone by then.
for pid in $(tree "${part_pids[@]}"); do
    case " ${part_pids[*]} " in *" $pid "*) continue ;; esac
    printf '%s\t%s\t%s\n' "$pid" "a process below them" "$(started "$pid")" >> "$state/pids"
done
if [ -n "$background" ]; then
    trap - EXIT INT TERM
    exit 0
fi
echo "(logs follow; Ctrl-C stops everything)"
start "the log follower" - tail -n +1 -f "$state/watch.log" "$state/guard-watch.log"
# Every part checked once a second until Ctrl-C. Not `wait -n` on the parts: one that ends just
# before it is called is never reported to it. `wait` on a one-second sleep: a trapped signal
# ends that wait at once and runs the trap (a `read -t` pause would not run it).
while :; do
    check_parts
    sleep 1 &
    tick_pid=$!
    wait "$tick_pid" || true
done
