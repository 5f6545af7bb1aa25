# Shared by local/run.sh and local/stop.sh: the processes a local run starts are recorded one per
# line in its pids file as "pid<TAB>name<TAB>start time", and stopped with everything below them.

# started PID: the process's start time as ps prints it (nothing once it is gone).
started() { ps -o lstart= -p "$1" 2>/dev/null || true; }

# alive PID: the process runs (a zombie does not count).
alive() {
    local s
    s=$(ps -o stat= -p "$1" 2>/dev/null) && [ -n "$s" ] && [ "${s:0:1}" != Z ]
}

# tree PID...: these processes and every process below them (cargo lambda watch runs the hook
# in a session of its own, so a process group would not hold it).
tree() {
    ps -A -o pid= -o ppid= | awk -v roots="$*" '
        BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) keep[r[i]] = 1 }
        { parent[$1] = $2 }
        END {
            do {
                added = 0
                for (p in parent) if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; added = 1 }
            } while (added)
            for (p in keep) print p
        }'
}

# stop_tree PID...: SIGTERM to these processes and every process below them, then waits (at most
# 10 s) until none runs; SIGKILL for any still running then.
stop_tree() {
    [ $# -gt 0 ] || return 0
    local all left p
    all=$(tree "$@")
    # shellcheck disable=SC2086
    kill -TERM $all 2>/dev/null || true
    for _ in $(seq 1 100); do
        left=""
        for p in $all; do alive "$p" && left+=" $p"; done
        [ -z "$left" ] && return 0
        sleep 0.1
    done
    echo "still running 10 s after SIGTERM, killed:$left" >&2
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null || true
}

# recorded FILE: the pids FILE lists whose process still runs and is the one recorded (same start
# time), so that a stale file never names someone else's process.
recorded() {
    local pid name start
    [ -f "$1" ] || return 0
    while IFS=$'\t' read -r pid name start; do
        if [ -n "$pid" ] && [ "$(started "$pid")" = "$start" ]; then echo "$pid"; fi
    done < "$1"
}
