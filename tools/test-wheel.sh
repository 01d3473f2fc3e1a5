#!/usr/bin/env bash
# Installs dist/hindsight_memory-*.whl (tools/build-wheel.sh) into a fresh virtualenv and runs the
# Python client's tests against it with Swift out of reach: its directories dropped from PATH and
# LD_LIBRARY_PATH and, when this runs as root, the toolchain's directory hidden behind an empty
# mount in a private mount namespace, so that a library or command still loading the Swift runtime
# from the toolchain fails. The tests then use only what the wheel installed (its library and its
# hindsight command).
set -euo pipefail
cd "$(dirname "$0")/.."
wheel=$(ls dist/hindsight_memory-*.whl | head -1)
venv=$(mktemp -d)/venv
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet "$wheel" pytest
swift_bin=$(dirname "$(readlink -f "$(command -v swift)")")
toolchain=$(dirname "$(dirname "$swift_bin")")
strip_swift() { tr ':' '\n' | grep -v -e "^$swift_bin" -e "^$toolchain" | paste -sd: -; }
path=$(echo "$PATH" | strip_swift)
ld_path=$(echo "${LD_LIBRARY_PATH:-}" | strip_swift)
site=$("$venv/bin/python" -c 'import hindsight_memory, os; print(os.path.dirname(hindsight_memory.__file__))')
echo "test-wheel: $wheel installed in $site"
if ldd "$site/_native/libHindsightC.so" "$site/_native/hindsight" | grep -e "$toolchain" -e "not found"; then
    echo "test-wheel: the wheel's binaries load libraries from the toolchain or miss some (above)" >&2
    exit 1
fi
# Run from a directory outside the checkout so that only the installed package can be imported.
tests=$(mktemp -d)
cp -r clients/python/tests "$tests/tests"
run=(env -u HINDSIGHT_BIN -u HINDSIGHT_LIBRARY PATH="$path" LD_LIBRARY_PATH="$ld_path" HINDSIGHT_REPO="$PWD"
     "$venv/bin/python" -m pytest -q -p no:cacheprovider "$tests/tests")
if [ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null; then
    echo "test-wheel: hiding $toolchain"
    (cd "$tests" && unshare -m bash -c 'mount -t tmpfs none "$0" && ! command -v swift >/dev/null && "$1" --help >/dev/null && exec "${@:2}"' \
        "$toolchain" "$venv/bin/hindsight" "${run[@]}")
else
    echo "test-wheel: not root: Swift is off PATH and LD_LIBRARY_PATH but its directory stays visible"
    (cd "$tests" && "$venv/bin/hindsight" --help >/dev/null && "${run[@]}")
fi
