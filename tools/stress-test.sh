#!/usr/bin/env bash
# Three reader processes query while one writer adds, deletes and compacts, for SECONDS (default 30):
# no process may crash or see a partial batch or an inconsistent memory, and verify must be clean at
# the end. Run by .ci/run after the test suites.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
bin="$(swift build --show-bin-path)/hindsight"
[ -x "$bin" ] || swift build --product hindsight
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$bin" stress --role writer --db "$work/db" --seconds "$seconds" > "$work/writer.log" 2>&1 &
pids=($!)
for i in 1 2 3; do
    "$bin" stress --role reader --db "$work/db" --seconds "$seconds" > "$work/reader$i.log" 2>&1 &
    pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
cat "$work"/*.log
if [ "$status" -ne 0 ]; then echo "stress: a process failed" >&2; exit 1; fi
"$bin" verify --db "$work/db"
