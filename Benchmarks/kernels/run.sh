#!/usr/bin/env bash
# Compares Hindsight's dot-product kernels with SimSIMD, hnswlib's loop and OpenBLAS on this CPU.
# Fetches SimSIMD's C headers from PyPI (its source distribution) into a scratch folder; nothing
# is committed. Usage: Benchmarks/kernels/run.sh [scratch-dir]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
scratch="${1:-$here/../../.build-kernels}"
mkdir -p "$scratch"
if [ ! -d "$scratch/simsimd" ]; then
    python3 -m pip download --quiet --no-deps --no-binary :all: --dest "$scratch" "simsimd==6.5.16"
    tar -xzf "$scratch"/simsimd-6.5.16.tar.gz -C "$scratch"
    mv "$scratch/simsimd-6.5.16" "$scratch/simsimd"
fi
blas=()
if [ -f /usr/include/x86_64-linux-gnu/cblas.h ] || [ -f /usr/include/cblas.h ] || [ -f /usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h ]; then
    blas=(-DWITH_OPENBLAS -I/usr/include/x86_64-linux-gnu/openblas-pthread -lopenblas)
fi
cc -O3 -march=native -std=c11 -I"$scratch/simsimd/include" -I"$here/../../Sources/CDistance/include" -DSIMSIMD_NATIVE_F16=0 -DSIMSIMD_NATIVE_BF16=0 \
    "$here/compare_kernels.c" "$here/../../Sources/CDistance/kernels.c" -o "$scratch/compare_kernels" "${blas[@]}" -lm
OPENBLAS_NUM_THREADS=1 "$scratch/compare_kernels"
