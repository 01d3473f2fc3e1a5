#!/usr/bin/env bash
# Fuzzes the HTTP API from its own contract: schemathesis (PyPI) generates requests for every
# operation of docs/openapi.yaml — valid and invalid bodies, parameters and paths — and checks that
# none is answered with a 5xx, against a real `hindsight serve` on a free loopback port. The server
# must still answer /health afterwards and stop cleanly. Deterministic (no random seed), bounded by
# --max-examples (default 20 per operation; about a minute). Run by .ci/run after tools/test.sh.
#   tools/fuzz-openapi.sh [MAX_EXAMPLES]
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-20}"
venv=.build/python-tests
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -m pip install --quiet schemathesis >/dev/null
bin="$(swift build --show-bin-path)/hindsight"
[ -x "$bin" ] || swift build --product hindsight
work="$(mktemp -d)"
"$bin" serve --db "$work/db" --port 0 --port-file "$work/url" --embedder hashing --hashing-dimension 8 >/dev/null 2>"$work/server.log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.1; done
url="$(cat "$work/url")"
# Sends one request with the standard library (no curl needed); fails unless it is answered 2xx.
call() { "$venv/bin/python" -c 'import sys, urllib.request
request = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode() if len(sys.argv) > 2 else None, method=sys.argv[3] if len(sys.argv) > 3 else None,
                                 headers={"Content-Type": "application/json"})
urllib.request.urlopen(request, timeout=10).read()' "$@"; }
# A collection, a memory and a pending decision, so that operations on them are reached too.
call "$url/v1/collections" '{"name":"c","dimension":8}'
call "$url/v1/collections/c/memories" '{"memories":[{"id":"a","time":"2024-01-02","situation":"s","vector":[1,0,0,0,0,0,0,0]}]}'
call "$url/v1/collections/c/decisions" '{"id":"d","time":"2024-01-03","situation":"s","vector":[0,1,0,0,0,0,0,0]}' 
status=0
"$venv/bin/schemathesis" run docs/openapi.yaml --url "$url" --checks not_a_server_error --max-examples "$examples" \
    --phases examples,coverage,fuzzing --generation-deterministic --no-color || status=$?
if ! call "$url/health"; then echo "fuzz-openapi: the server no longer answers" >&2; status=1; fi
kill -TERM "$server"
if ! wait "$server"; then echo "fuzz-openapi: the server did not stop cleanly" >&2; tail -20 "$work/server.log" >&2; status=1; fi
trap 'rm -rf "$work"' EXIT
exit "$status"
