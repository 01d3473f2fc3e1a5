#!/usr/bin/env bash
# Installs what Hindsight needs on a fresh Debian/Ubuntu machine that already has Swift:
# liblmdb-dev (LMDB's headers and library) and pkg-config, and python3 with venv (the Python client's
# tests and tools/fetch-model.sh). Does nothing when they are present.
set -euo pipefail

missing=()
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if ! pkg-config --exists lmdb 2>/dev/null; then missing+=(liblmdb-dev); fi
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then missing+=(python3 python3-venv); fi

if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    echo "setup: installing ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
