#!/usr/bin/env bash
# Stops what `local/run.sh --background` started.
cd "$(dirname "$0")/.."
pids=$(cat target/local-run/pids 2>/dev/null) || exit 0
# shellcheck disable=SC2086
kill $pids 2>/dev/null || true
rm -f target/local-run/pids
