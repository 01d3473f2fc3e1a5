#!/usr/bin/env bash
# Builds the Python package as a wheel that installs and runs without Swift:
#   dist/hindsight_memory-<version>-py3-none-<platform>.whl
# holding hindsight_memory/ (pure Python) and hindsight_memory/_native/: libHindsightC.so (the
# in-process engine), the hindsight command and hindsight.h, built by `swift build -c release`
# into .build-wheel/ with the Swift runtime linked statically, and liblmdb.so.0 beside them.
# The wheel runs on machines of the same kind (glibc, CPU architecture) as the one that built it;
# its hindsight command also needs the system's libcurl4 (its HTTP embedding client), the in-process
# library does not. Needs Swift, python3 with venv, and PyPI (setuptools for the build).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
# Static Foundation networking (the command's OpenAI-compatible embedder) links with -lcurl.
if ! grep -q 'libcurl\.so ' <<<"$(ldconfig -p)"; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    echo "build-wheel: installing libcurl4-openssl-dev (to link the command)" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq libcurl4-openssl-dev >/dev/null
fi
venv=.build-wheel/venv
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
mkdir -p dist
rm -f dist/hindsight_memory-*.whl
"$venv/bin/python" -m pip wheel --quiet --no-deps --wheel-dir dist ./clients/python
wheel=$(ls dist/hindsight_memory-*.whl)
listing=$("$venv/bin/python" -m zipfile -l "$wheel")  # whole, not piped into grep -q (which would close the pipe early)
for member in _native/libHindsightC.so _native/hindsight _native/include/hindsight.h _native/liblmdb.so.0; do
    grep -q "hindsight_memory/$member" <<<"$listing" || { echo "build-wheel: $member is missing from $wheel" >&2; exit 1; }
done
echo "$wheel ($(du -h "$wheel" | cut -f1))"
