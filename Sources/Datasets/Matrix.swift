import Foundation

/// A dense row-major matrix read from a vector file.
public struct Matrix<Element: Sendable>: Sendable {
    /// Number of rows (vectors).
    public let rows: Int
    /// Number of columns (the dimension).
    public let columns: Int
    /// `rows * columns` values, row after row.
    public var values: [Element]

    public init(rows: Int, columns: Int, values: [Element]) {
        precondition(values.count == rows * columns)
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    /// Row `index` as an array.
    public func row(_ index: Int) -> [Element] { Array(values[index * columns..<(index + 1) * columns]) }

    /// Every row as an array.
    public var rowArrays: [[Element]] { (0..<rows).map(row) }
}

/// Why a vector file could not be read.
public enum DatasetError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be opened or read.
    case unreadable(path: String, reason: String)
    /// The file is not of the format its name says, or is truncated.
    case malformed(path: String, reason: String)
    /// The file holds values of a type this reader does not take.
    case unsupportedType(path: String, found: String, expected: String)
    /// The files do not fit together (rows, dimensions, id ranges).
    case mismatch(String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        case .malformed(let path, let reason): "\(path) is malformed: \(reason)"
        case .unsupportedType(let path, let found, let expected): "\(path) holds \(found); expected \(expected)"
        case .mismatch(let detail): detail
        }
    }
}

/// Reads a matrix of Float32 vectors from a `.npy` file (dtype `<f4`, C order, two dimensions)
/// or an `.fvecs` file.
public func readVectors(_ path: String) throws -> Matrix<Float> {
    let data = try load(path)
    if path.hasSuffix(".fvecs") {
        return try readVecs(data, path: path) { $0.loadUnaligned(as: Float.self) }
    }
    let (header, offset) = try NPYHeader.parse(data, path: path)
    guard header.descr == "<f4" else { throw DatasetError.unsupportedType(path: path, found: "dtype \(header.descr)", expected: "float32 (<f4)") }
    return try header.matrix(data, offset: offset, path: path) { $0.loadUnaligned(as: Float.self) }
}

/// Reads a matrix of neighbour ids from a `.npy` file (int32 or int64) or an `.ivecs` file.
public func readIDs(_ path: String) throws -> Matrix<Int> {
    let data = try load(path)
    if path.hasSuffix(".ivecs") {
        return try readVecs(data, path: path) { Int(Int32(littleEndian: $0.loadUnaligned(as: Int32.self))) }
    }
    let (header, offset) = try NPYHeader.parse(data, path: path)
    switch header.descr {
    case "<i4": return try header.matrix(data, offset: offset, path: path) { Int(Int32(littleEndian: $0.loadUnaligned(as: Int32.self))) }
    case "<i8": return try header.matrix(data, offset: offset, path: path) { Int(Int64(littleEndian: $0.loadUnaligned(as: Int64.self))) }
    default: throw DatasetError.unsupportedType(path: path, found: "dtype \(header.descr)", expected: "int32 (<i4) or int64 (<i8)")
    }
}

/// Writes `matrix` as a `.npy` file of dtype `<f4`.
public func writeNPY(_ matrix: Matrix<Float>, to path: String) throws {
    var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(matrix.rows), \(matrix.columns)), }"
    let unpadded = 10 + header.utf8.count + 1
    header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
    var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
    withUnsafeBytes(of: UInt16(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
    data.append(contentsOf: Array(header.utf8))
    matrix.values.withUnsafeBytes { data.append(contentsOf: $0) }
    try data.write(to: URL(fileURLWithPath: path))
}

private func load(_ path: String) throws -> Data {
    do { return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
        throw DatasetError.unreadable(path: path, reason: error.localizedDescription)
    }
}

private func readVecs<T>(_ data: Data, path: String, element: (UnsafeRawBufferPointer) -> T) throws -> Matrix<T> {
    try data.withUnsafeBytes { bytes in
        guard bytes.count >= 4 else { throw DatasetError.malformed(path: path, reason: "shorter than one vector header") }
        let dimension = Int(Int32(littleEndian: bytes.loadUnaligned(as: Int32.self)))
        guard dimension > 0 else { throw DatasetError.malformed(path: path, reason: "vector dimension \(dimension)") }
        let stride = 4 + 4 * dimension
        guard bytes.count % stride == 0 else {
            throw DatasetError.malformed(path: path, reason: "size \(bytes.count) is not a multiple of \(stride) bytes per \(dimension)-d vector")
        }
        let rows = bytes.count / stride
        var values: [T] = []
        values.reserveCapacity(rows * dimension)
        for row in 0..<rows {
            let start = row * stride
            let rowDimension = Int(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: start, as: Int32.self)))
            guard rowDimension == dimension else {
                throw DatasetError.malformed(path: path, reason: "vector \(row) has dimension \(rowDimension), the first has \(dimension)")
            }
            for column in 0..<dimension {
                values.append(element(UnsafeRawBufferPointer(rebasing: bytes[(start + 4 + 4 * column)...])))
            }
        }
        return Matrix(rows: rows, columns: dimension, values: values)
    }
}

/// The header of a `.npy` file (format versions 1, 2 and 3).
struct NPYHeader {
    var descr: String
    var fortranOrder: Bool
    var shape: [Int]

    static func parse(_ data: Data, path: String) throws -> (NPYHeader, Int) {
        let prefix = [UInt8](data.prefix(12))
        guard prefix.count >= 10, prefix[0] == 0x93, Array(prefix[1..<6]) == Array("NUMPY".utf8) else {
            throw DatasetError.malformed(path: path, reason: "no NPY signature")
        }
        let major = prefix[6]
        let headerLength: Int, start: Int
        switch major {
        case 1: headerLength = Int(prefix[8]) | Int(prefix[9]) << 8; start = 10
        case 2, 3:
            guard prefix.count >= 12 else { throw DatasetError.malformed(path: path, reason: "truncated header") }
            headerLength = Int(prefix[8]) | Int(prefix[9]) << 8 | Int(prefix[10]) << 16 | Int(prefix[11]) << 24
            start = 12
        default: throw DatasetError.malformed(path: path, reason: "NPY format version \(major) is not supported")
        }
        guard data.count >= start + headerLength else { throw DatasetError.malformed(path: path, reason: "truncated header") }
        let text = String(decoding: data[start..<start + headerLength], as: UTF8.self)
        func field(_ name: String) -> String? {
            guard let range = text.range(of: "'\(name)':") else { return nil }
            return String(text[range.upperBound...]).trimmingCharacters(in: .whitespaces)
        }
        guard let descrField = field("descr"), let quote = descrField.first, quote == "'" || quote == "\"",
              let end = descrField.dropFirst().firstIndex(of: quote) else {
            throw DatasetError.malformed(path: path, reason: "header has no descr")
        }
        let descr = String(descrField[descrField.index(after: descrField.startIndex)..<end])
        let fortran = field("fortran_order")?.hasPrefix("True") ?? false
        guard let shapeField = field("shape"), let open = shapeField.firstIndex(of: "("), let close = shapeField.firstIndex(of: ")") else {
            throw DatasetError.malformed(path: path, reason: "header has no shape")
        }
        let shape = shapeField[shapeField.index(after: open)..<close].split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.compactMap { Int($0) }
        return (NPYHeader(descr: descr, fortranOrder: fortran, shape: shape), start + headerLength)
    }

    func matrix<T>(_ data: Data, offset: Int, path: String, element: (UnsafeRawBufferPointer) -> T) throws -> Matrix<T> {
        guard !fortranOrder else { throw DatasetError.unsupportedType(path: path, found: "Fortran order", expected: "C order") }
        guard shape.count == 2 else { throw DatasetError.malformed(path: path, reason: "shape \(shape) is not a matrix") }
        let rows = shape[0], columns = shape[1]
        let size = descr.hasSuffix("8") ? 8 : 4
        guard data.count - offset == rows * columns * size else {
            throw DatasetError.malformed(path: path, reason: "holds \(data.count - offset) data bytes, shape \(shape) needs \(rows * columns * size)")
        }
        return data.withUnsafeBytes { bytes in
            var values: [T] = []
            values.reserveCapacity(rows * columns)
            var position = offset
            for _ in 0..<(rows * columns) {
                values.append(element(UnsafeRawBufferPointer(rebasing: bytes[position...])))
                position += size
            }
            return Matrix(rows: rows, columns: columns, values: values)
        }
    }
}
