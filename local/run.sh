#!/usr/bin/env bash
# `make run`: the hook under `cargo lambda watch` (Lambda's emulator), with local stand-ins for
# NL3 and ipinfo (examples/local_upstreams.rs, the tests' own), all on 127.0.0.1. No AWS account,
# no internet. LOCAL_SECRETS=moto serves the secrets from a local Secrets Manager (moto) instead
# of the environment.
#
# Ports, each checked before anything starts: INVOKE_PORT, the hook (9000); UPSTREAMS_PORT, the
# NL3/ipinfo stand-ins (9010); MOTO_PORT, moto with LOCAL_SECRETS=moto (9011). LOCAL_ENV_FILE: the
# hook's settings (local/local.env; its 127.0.0.1:9010 becomes UPSTREAMS_PORT). LOCAL_RUN_DIR:
# the logs and the list of the processes started (target/local-run).
#
# Ready only once the hook has answered a locked user's event `locked`, an answer that went
# through the NL3 stand-in. A part that stops, before or after that, stops the run (exit 1).
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
UPSTREAMS_PORT=${UPSTREAMS_PORT:-9010}
MOTO_PORT=${MOTO_PORT:-9011}
env_source=${LOCAL_ENV_FILE:-local/local.env}
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

# 1. The ports, before anything starts.
ports=("$INVOKE_PORT=the hook (INVOKE_PORT)" "$UPSTREAMS_PORT=the NL3/ipinfo stand-ins (UPSTREAMS_PORT)")
if [ "${LOCAL_SECRETS:-env}" = moto ]; then
    ports+=("$MOTO_PORT=the local Secrets Manager (MOTO_PORT)")
fi
if ! problems=$(python3 local/ports.py --pids "$state/pids" "${ports[@]}"); then
    fail "$problems" \
        "Nothing was started. Free the port, or run on other ports, e.g." \
        "  INVOKE_PORT=9100 UPSTREAMS_PORT=9110 make run"
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
env_file="$state/hook.env"
grep -v '^#' "$env_source" | sed "s#127\.0\.0\.1:9010#127.0.0.1:$UPSTREAMS_PORT#g" > "$env_file"
set -a
# shellcheck disable=SC1090
. "$env_file"
set +a

echo "== building the hook and the stand-ins (the first time takes a few minutes)"
upstreams_bin=$(cargo build --bin nl3-okta-hook --example local_upstreams \
    --message-format=json-render-diagnostics | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "local_upstreams":
        print(m["executable"])')

# 3. The NL3/ipinfo stand-ins; ready once they say where they listen.
start "the NL3/ipinfo stand-ins" "$state/upstreams.log" "$upstreams_bin" "$UPSTREAMS_PORT"
for _ in $(seq 1 300); do
    grep -q 'stand-ins on http' "$state/upstreams.log" && break
    check_parts
    sleep 0.1
done
grep -q 'stand-ins on http' "$state/upstreams.log" ||
    fail "the NL3/ipinfo stand-ins did not start listening within 30 s (log: $state/upstreams.log)"

# 4. With LOCAL_SECRETS=moto, the secrets in a local Secrets Manager.
if [ "${LOCAL_SECRETS:-env}" = moto ]; then
    start "the local Secrets Manager (moto)" "$state/moto.log" moto_server -H 127.0.0.1 -p "$MOTO_PORT"
    python3 - "$MOTO_PORT" <<'PY' || { check_parts; fail "see above"; }
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

# 5. The hook under the emulator. Ready when it answers a locked user's event `locked`: the
#    emulator starts (and, if need be, builds) the hook on the first invoke, and that answer can
#    only come from the NL3 stand-in (without it, FAIL_OPEN lets the user in).
start "cargo lambda watch (the hook)" "$state/watch.log" \
    cargo lambda watch --bin nl3-okta-hook -A 127.0.0.1 -P "$INVOKE_PORT" --env-file "$env_file"
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

port_flag=
if [ "$INVOKE_PORT" != 9000 ]; then port_flag=" --invoke-port $INVOKE_PORT"; fi
cat <<MSG

nl3-okta-hook is ready under cargo lambda watch on http://127.0.0.1:$INVOKE_PORT: it answered a
locked user's event "locked", through the NL3 and ipinfo stand-ins on :$UPSTREAMS_PORT (users
whose login starts with "locked" are locked). Try it from another terminal in this directory
(\`make try\` sends every sample event):

  .venv/bin/cargo-lambda lambda invoke --invoke-address 127.0.0.1$port_flag --data-file events/rest/token-unlocked.json

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
start "the log follower" - tail -n +1 -f "$state/watch.log"
# Every part checked once a second until Ctrl-C. Not `wait -n` on the parts: one that ends just
# before it is called is never reported to it. `wait` on a one-second sleep: a trapped signal
# ends that wait at once and runs the trap (a `read -t` pause would not run it).
while :; do
    check_parts
    sleep 1 &
    tick_pid=$!
    wait "$tick_pid" || true
done
