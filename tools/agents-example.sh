#!/usr/bin/env bash
# Runs the five-role agent example end to end: builds hindsight, starts `hindsight serve` on a free
# loopback port with the deterministic hashing embedder (no network, no API key), runs
# clients/python/examples/agents_demo.py against it, and stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
swift build --product hindsight >/dev/null
bin="$(swift build --show-bin-path)/hindsight"
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
"$bin" serve --db "$work/db" --port 0 --embedder hashing > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do grep -q "serving" "$work/serve.log" 2>/dev/null && break; sleep 0.1; done
url="$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.log")"
PYTHONPATH=clients/python python3 clients/python/examples/agents_demo.py --server-url "$url" "$@"
