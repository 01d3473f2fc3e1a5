#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import FastJSON

/// A `.safetensors` file mapped read-only: an 8-byte little-endian header length, a JSON header
/// naming each tensor's dtype, shape and byte range, then the tensors' little-endian bytes.
///
/// The whole file is validated when opened (header inside the file, every range inside the data,
/// sizes matching shapes), so that reading a tensor cannot go out of bounds.
package final class SafeTensorsFile: @unchecked Sendable {
    // Sendable: the file is mapped read-only and every field is set once, in the initialiser.
    /// Element types this reader converts to Float32.
    package enum ElementType: String, Sendable {
        case float32 = "F32"
        case float16 = "F16"
        case bfloat16 = "BF16"

        var size: Int { self == .float32 ? 4 : 2 }
    }

    package struct Tensor: Sendable {
        package var dtype: String
        package var shape: [Int]
        /// Byte range inside the data section.
        package var range: Range<Int>
    }

    package let path: String
    package let tensors: [String: Tensor]
    // Immutable after init; unmapped in deinit.
    private let mapping: UnsafeRawBufferPointer
    private let dataOffset: Int

    /// Maps and validates the file at `path`.
    package init(path: String) throws(EmbeddingError) {
        self.path = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw EmbeddingError.modelFile(path: path, reason: Self.errnoMessage("cannot be opened")) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw EmbeddingError.modelFile(path: path, reason: Self.errnoMessage("cannot be read")) }
        let size = Int(status.st_size)
        guard size >= 8 else { throw EmbeddingError.modelFile(path: path, reason: "is \(size) bytes: too short for a safetensors file") }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), base != MAP_FAILED else {
            throw EmbeddingError.modelFile(path: path, reason: Self.errnoMessage("cannot be mapped"))
        }
        let mapping = UnsafeRawBufferPointer(start: base, count: size)
        do {
            (tensors, dataOffset) = try Self.parseHeader(mapping, path: path)
        } catch {
            munmap(base, size)
            throw error
        }
        self.mapping = mapping
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: mapping.baseAddress), mapping.count)
    }

    private static func errnoMessage(_ what: String) -> String { "\(what): \(String(cString: strerror(errno)))" }

    private static func parseHeader(_ file: UnsafeRawBufferPointer, path: String) throws(EmbeddingError) -> ([String: Tensor], Int) {
        var length: UInt64 = 0
        for index in 0..<8 { length |= UInt64(file[index]) << (8 * UInt64(index)) }
        guard length <= UInt64(file.count - 8) else {
            throw EmbeddingError.modelFile(path: path, reason: "its header claims \(length) bytes but the file has \(file.count) (truncated download?)")
        }
        let header: JSONValue
        do {
            header = try JSONValue.parse(UnsafeRawBufferPointer(rebasing: file[8..<(8 + Int(length))]))
        } catch {
            throw EmbeddingError.modelFile(path: path, reason: "its header is not JSON: \(error)")
        }
        guard case .object(let members) = header else { throw EmbeddingError.modelFile(path: path, reason: "its header is not a JSON object") }
        let dataOffset = 8 + Int(length)
        let dataLength = file.count - dataOffset
        var tensors: [String: Tensor] = [:]
        for (name, value) in members where name != "__metadata__" {
            guard case .string(let dtype)? = value["dtype"], case .array(let shapeValues)? = value["shape"],
                  case .array(let offsetValues)? = value["data_offsets"], offsetValues.count == 2 else {
                throw EmbeddingError.modelFile(path: path, reason: "tensor \(name) has no dtype, shape or data_offsets")
            }
            var shape: [Int] = []
            for dimension in shapeValues {
                guard case .number(let number) = dimension, number >= 0, number < 1e12, number == number.rounded() else {
                    throw EmbeddingError.modelFile(path: path, reason: "tensor \(name) has an invalid shape")
                }
                shape.append(Int(number))
            }
            guard case .number(let begin) = offsetValues[0], case .number(let end) = offsetValues[1],
                  begin >= 0, begin <= end, end <= Double(dataLength) else {
                throw EmbeddingError.modelFile(path: path, reason: "tensor \(name) lies outside the file (truncated download?)")
            }
            let range = Int(begin)..<Int(end)
            if let type = ElementType(rawValue: dtype) {
                let expected = shape.reduce(1, *) * type.size
                guard expected == range.count else {
                    throw EmbeddingError.modelFile(path: path, reason: "tensor \(name) has \(range.count) bytes, its shape \(shape) needs \(expected)")
                }
            }
            tensors[name] = Tensor(dtype: dtype, shape: shape, range: range)
        }
        return (tensors, dataOffset)
    }

    /// The tensor named `name`, or (for checkpoints saved from a task model) `prefix + name`.
    package func tensor(_ name: String, prefixes: [String] = ["", "bert."]) -> (name: String, tensor: Tensor)? {
        for prefix in prefixes {
            if let tensor = tensors[prefix + name] { return (prefix + name, tensor) }
        }
        return nil
    }

    /// The Float32 values of a tensor whose shape must be `shape`: a pointer into the mapping when the
    /// file stores aligned Float32 (valid while this file lives), or a converted copy.
    package func floats(_ name: String, shape expected: [Int]) throws(EmbeddingError) -> FloatStorage {
        guard let (fullName, tensor) = tensor(name) else {
            throw EmbeddingError.modelFile(path: path, reason: "has no tensor \(name) (is this a BERT model?)")
        }
        guard tensor.shape == expected else {
            throw EmbeddingError.modelFile(path: path, reason: "tensor \(fullName) has shape \(tensor.shape); config.json implies \(expected)")
        }
        guard let type = ElementType(rawValue: tensor.dtype) else {
            throw EmbeddingError.modelFile(path: path, reason: "tensor \(fullName) has dtype \(tensor.dtype); F32, F16 and BF16 are supported")
        }
        let bytes = UnsafeRawBufferPointer(rebasing: mapping[(dataOffset + tensor.range.lowerBound)..<(dataOffset + tensor.range.upperBound)])
        let count = tensor.range.count / type.size
        switch type {
        case .float32:
            if let base = bytes.baseAddress, Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 {
                return .mapped(base.assumingMemoryBound(to: Float.self), count: count, owner: self)
            }
            let buffer = FloatBuffer(count: count)
            for index in 0..<count { buffer.pointer[index] = Float(bitPattern: bytes.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self).littleEndian) }
            return .owned(buffer)
        case .float16:
            let buffer = FloatBuffer(count: count)
            for index in 0..<count {
                buffer.pointer[index] = Float(Float16(bitPattern: bytes.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self).littleEndian))
            }
            return .owned(buffer)
        case .bfloat16:
            let buffer = FloatBuffer(count: count)
            for index in 0..<count {
                let bits = UInt32(bytes.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self).littleEndian) << 16
                buffer.pointer[index] = Float(bitPattern: bits)
            }
            return .owned(buffer)
        }
    }
}

/// Float32 values either inside a mapped file (kept alive by `owner`) or in an owned buffer.
package enum FloatStorage: @unchecked Sendable {
    // Sendable: a mapped tensor is read-only and its owner keeps the mapping alive; owned buffers are
    // filled before they are shared.
    case mapped(UnsafePointer<Float>, count: Int, owner: AnyObject)
    case owned(FloatBuffer)

    package var pointer: UnsafePointer<Float> {
        switch self {
        case .mapped(let pointer, _, _): pointer
        case .owned(let buffer): UnsafePointer(buffer.pointer)
        }
    }

    package var count: Int {
        switch self {
        case .mapped(_, let count, _): count
        case .owned(let buffer): buffer.count
        }
    }

    /// A copy as an array.
    package var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}

/// A zero-initialised, 64-byte-aligned buffer of numbers that lives as long as this object.
package final class AlignedBuffer<Element: BitwiseCopyable & Numeric>: @unchecked Sendable {
    // Sendable: the pointer never changes; whoever writes the elements (a loader, one forward pass)
    // does so before sharing them or from threads that own disjoint ranges.
    package let pointer: UnsafeMutablePointer<Element>
    package let count: Int

    package init(count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * MemoryLayout<Element>.stride, alignment: 64)
        pointer = raw.initializeMemory(as: Element.self, repeating: 0, count: max(1, count))
    }

    deinit { pointer.deallocate() }
}

/// The floats of weights and activations.
package typealias FloatBuffer = AlignedBuffer<Float>
