#!/usr/bin/env bash
# Stops what `local/run.sh --background` started (from the same LOCAL_RUN_DIR): each process it
# recorded that still runs as recorded, and every process below them.
set -uo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=local/lib.sh
. local/lib.sh
state=${LOCAL_RUN_DIR:-target/local-run}
# shellcheck disable=SC2046
stop_tree $(recorded "$state/pids")
rm -f "$state/pids"
