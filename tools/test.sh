#!/usr/bin/env bash
# Runs every test of the project: the Swift suites (swift test).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
swift build --build-tests
swift test --skip-build
