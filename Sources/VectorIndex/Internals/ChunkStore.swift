internal import Glibc
package import LMDB
internal import Distance

/// How an array of fixed-size elements is cut into LMDB values ("chunks").
///
/// A chunk is one value: a small header, then `elementsPerChunk` elements back to back. Values
/// larger than a page live in contiguous overflow pages, so a chunk is contiguous in the map and an
/// element's address is the chunk's address plus an offset: no lookup per element. The number of
/// elements per chunk is chosen so that a full chunk fills its pages with less than one element
/// to spare.
package struct ChunkLayout: Sendable, Equatable {
    /// Bytes of one element.
    package let elementBytes: Int
    /// Bytes before the first element of a chunk.
    package let headerBytes: Int
    /// Elements in a full chunk.
    package let elementsPerChunk: Int
    let divider: FastDivisor

    /// The bytes LMDB puts before the data of an overflow value (`PAGEHDRSZ`).
    static let overflowHeaderBytes = 16

    /// A layout whose full chunk fills `pages` pages of `pageSize` bytes.
    package init(elementBytes: Int, headerBytes: Int, pages: Int, pageSize: Int) {
        let usable = pages * pageSize - ChunkLayout.overflowHeaderBytes - headerBytes
        self.init(elementBytes: elementBytes, headerBytes: headerBytes, elementsPerChunk: max(2, usable / elementBytes))
    }

    /// A layout with a stored number of elements per chunk.
    package init(elementBytes: Int, headerBytes: Int, elementsPerChunk: Int) {
        precondition(elementBytes > 0 && elementsPerChunk >= 1)
        self.elementBytes = elementBytes
        self.headerBytes = headerBytes
        self.elementsPerChunk = elementsPerChunk
        divider = FastDivisor(elementsPerChunk)
    }

    /// The chunk holding `element` and the element's index inside it.
    @inline(__always)
    package func locate(_ element: UInt32) -> (chunk: Int, index: Int) {
        let (chunk, index) = divider.divide(element)
        return (chunk, index)
    }

    /// The size of a chunk value holding `count` elements.
    package func valueBytes(elements count: Int) -> Int { headerBytes + count * elementBytes }

    /// The bytes of a full chunk.
    package var fullChunkBytes: Int { valueBytes(elements: elementsPerChunk) }
}

/// The fixed header of every chunk value: what the chunk is and a CRC-32C of its contents, for
/// checks after a crash or a bit flip (`verify` recomputes the checksums).
package struct ChunkHeader: Equatable {
    package static let magic: UInt32 = 0x4B48_5348  // "HSHK" little-endian
    /// A sparse chunk: a presence bitmap, then only the present elements, packed.
    package static let sparseMagic: UInt32 = 0x5348_5348  // "HSHS"
    package static let bytes = 32
    package var owner: UInt32
    package var chunk: UInt32
    package var elements: UInt32
    /// CRC-32C of everything after the header (padding, bitmap and elements).
    package var checksum: UInt32 = 0

    package func write(to buffer: UnsafeMutableRawPointer) {
        buffer.storeBytes(of: ChunkHeader.magic.littleEndian, toByteOffset: 0, as: UInt32.self)
        buffer.storeBytes(of: owner.littleEndian, toByteOffset: 4, as: UInt32.self)
        buffer.storeBytes(of: chunk.littleEndian, toByteOffset: 8, as: UInt32.self)
        buffer.storeBytes(of: elements.littleEndian, toByteOffset: 12, as: UInt32.self)
        buffer.storeBytes(of: checksum.littleEndian, toByteOffset: 16, as: UInt32.self)
    }

    /// Stores the CRC-32C of the bytes after the header of the value at `value` (`count` bytes long).
    package static func seal(_ value: UnsafeMutableRawBufferPointer) {
        let sum = crc32c(UnsafeRawBufferPointer(rebasing: value[bytes...]))
        value.baseAddress!.storeBytes(of: sum.littleEndian, toByteOffset: 16, as: UInt32.self)
    }

    /// Whether the stored checksum matches the value's contents.
    package static func isIntact(_ value: UnsafeRawBufferPointer) -> Bool {
        guard value.count >= bytes else { return false }
        let stored = UInt32(littleEndian: value.loadUnaligned(fromByteOffset: 16, as: UInt32.self))
        return stored == crc32c(UnsafeRawBufferPointer(rebasing: value[bytes...]))
    }

    package init(owner: UInt32, chunk: UInt32, elements: UInt32) {
        self.owner = owner
        self.chunk = chunk
        self.elements = elements
    }

    /// Bytes of the bitmap of a sparse chunk of `positions` positions, and the offset of its first
    /// packed element (16-byte aligned).
    package static func sparseLayout(positions: Int) -> (bitmapWords: Int, dataOffset: Int) {
        let words = (positions + 63) / 64
        return (words, (bytes + 8 * words + 15) / 16 * 16)
    }

    /// Whether the header read is a sparse chunk's.
    package var isSparse = false

    package init?(_ value: UnsafeRawBufferPointer) {
        guard value.count >= ChunkHeader.bytes else { return nil }
        let magic = UInt32(littleEndian: value.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        guard magic == ChunkHeader.magic || magic == ChunkHeader.sparseMagic else { return nil }
        isSparse = magic == ChunkHeader.sparseMagic
        owner = UInt32(littleEndian: value.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        chunk = UInt32(littleEndian: value.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        elements = UInt32(littleEndian: value.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
        checksum = UInt32(littleEndian: value.loadUnaligned(fromByteOffset: 16, as: UInt32.self))
    }
}

/// The chunks of one chunked array as seen by one transaction: the address of each chunk's first
/// element, so that an element is found with a division and an add.
///
/// In a read transaction every address points into the memory map and is valid only while a
/// transaction on the same snapshot is open. In a write transaction, a chunk that is changed is
/// first copied into memory owned by the table (copy-on-write) and written back by ``flush(in:)``.
package final class ChunkStore {
    package let layout: ChunkLayout
    /// The array's owner id, stored in each chunk header (a space or a graph).
    let owner: UInt32
    /// The database and the key prefix of the chunks: key = prefix + chunk index (u32, big-endian).
    let database: Database
    let prefix: Key
    /// Address of element 0 of each chunk, or nil for a missing chunk.
    private var bases: UnsafeMutablePointer<UnsafeRawPointer?>
    /// For a sparse chunk, the address of its presence bitmap (little-endian 64-bit words); nil for
    /// a dense chunk.
    private var bitmaps: UnsafeMutablePointer<UnsafeRawPointer?>
    private var capacity: Int
    /// The number of chunk slots in `bases`.
    package private(set) var chunkCount: Int
    /// Element counts of the stored chunks, as their headers say (for checks).
    package private(set) var storedElements: [Int: Int] = [:]
    /// Chunks copied into owned memory in this write transaction.
    private var owned: [Int: UnsafeMutableRawPointer] = [:]

    /// Loads the addresses of every chunk under `prefix` in `database`.
    package init<Mode>(layout: ChunkLayout, owner: UInt32, database: Database, prefix: Key,
                       transaction: borrowing Transaction<Mode>) throws {
        self.layout = layout
        self.owner = owner
        self.database = database
        self.prefix = prefix
        capacity = 16
        bases = .allocate(capacity: capacity)
        bases.initialize(repeating: nil, count: capacity)
        bitmaps = .allocate(capacity: capacity)
        bitmaps.initialize(repeating: nil, count: capacity)
        chunkCount = 0
        let prefixCount = prefix.count
        var failure: IndexError?
        try storage {
            try transaction.forEach(in: database, prefix: prefix) { key, value in
                var reader = KeyReader(UnsafeRawBufferPointer(rebasing: key[prefixCount...]))
                guard let chunk = reader.readUInt32(), reader.remaining == 0 else {
                    failure = .corrupt("chunk key of the wrong size under owner \(owner)")
                    return false
                }
                guard let header = ChunkHeader(value), header.owner == owner, header.chunk == chunk,
                      Int(header.elements) <= layout.elementsPerChunk else {
                    failure = .corrupt("chunk \(chunk) of owner \(owner) has a bad header (\(value.count) bytes)")
                    return false
                }
                if header.isSparse {
                    let (words, offset) = ChunkHeader.sparseLayout(positions: Int(header.elements))
                    var present = 0
                    if value.count >= offset {
                        for word in 0..<words {
                            present += UInt64(littleEndian: value.loadUnaligned(fromByteOffset: ChunkHeader.bytes + 8 * word, as: UInt64.self)).nonzeroBitCount
                        }
                    }
                    guard value.count == offset + present * layout.elementBytes else {
                        failure = .corrupt("sparse chunk \(chunk) of owner \(owner) has \(value.count) bytes for \(present) elements")
                        return false
                    }
                    setBase(UnsafeRawPointer(value.baseAddress! + offset), at: Int(chunk))
                    bitmaps[Int(chunk)] = UnsafeRawPointer(value.baseAddress! + ChunkHeader.bytes)
                } else {
                    guard value.count == layout.valueBytes(elements: Int(header.elements)) else {
                        failure = .corrupt("chunk \(chunk) of owner \(owner) has \(value.count) bytes for \(header.elements) elements")
                        return false
                    }
                    setBase(UnsafeRawPointer(value.baseAddress! + layout.headerBytes), at: Int(chunk))
                }
                storedElements[Int(chunk)] = Int(header.elements)
                return true
            }
        }
        if let failure { throw failure }
    }

    deinit {
        for buffer in owned.values { buffer.deallocate() }
        bases.deallocate()
        bitmaps.deallocate()
    }

    private func setBase(_ base: UnsafeRawPointer?, at chunk: Int) {
        if chunk >= capacity {
            var newCapacity = capacity
            while newCapacity <= chunk { newCapacity *= 2 }
            let grown = UnsafeMutablePointer<UnsafeRawPointer?>.allocate(capacity: newCapacity)
            grown.moveInitialize(from: bases, count: capacity)
            (grown + capacity).initialize(repeating: nil, count: newCapacity - capacity)
            bases.deallocate()
            bases = grown
            let grownBitmaps = UnsafeMutablePointer<UnsafeRawPointer?>.allocate(capacity: newCapacity)
            grownBitmaps.moveInitialize(from: bitmaps, count: capacity)
            (grownBitmaps + capacity).initialize(repeating: nil, count: newCapacity - capacity)
            bitmaps.deallocate()
            bitmaps = grownBitmaps
            capacity = newCapacity
        }
        bases[chunk] = base
        chunkCount = max(chunkCount, chunk + 1)
    }

    /// The address of `element`, or nil when its chunk is missing or it is absent from a sparse chunk.
    @inline(__always)
    package func element(_ element: UInt32) -> UnsafeRawPointer? {
        let (chunk, index) = layout.locate(element)
        guard chunk < chunkCount, let base = bases[chunk] else { return nil }
        if let bitmap = bitmaps[chunk] {
            guard let packed = Self.packedIndex(bitmap, index) else { return nil }
            return base + packed * layout.elementBytes
        }
        return base + index * layout.elementBytes
    }

    /// The address of `element`, which must exist (checked by the graph's invariants).
    @inline(__always)
    package func existingElement(_ element: UInt32) -> UnsafeRawPointer {
        let (chunk, index) = layout.locate(element)
        assert(chunk < chunkCount && bases[chunk] != nil, "element \(element) is in no chunk of this store")
        assert(bitmaps[chunk] == nil || Self.packedIndex(bitmaps[chunk]!, index) != nil, "element \(element) is absent from its sparse chunk")
        if let bitmap = bitmaps[chunk] {
            return bases[chunk].unsafelyUnwrapped + Self.packedIndex(bitmap, index).unsafelyUnwrapped * layout.elementBytes
        }
        return bases[chunk].unsafelyUnwrapped + index * layout.elementBytes
    }

    /// The position of element `index` among the present elements of a sparse chunk, or nil.
    @inline(__always)
    static func packedIndex(_ bitmap: UnsafeRawPointer, _ index: Int) -> Int? {
        let word = index >> 6, bit = UInt64(1) << UInt64(index & 63)
        let bits = UInt64(littleEndian: bitmap.loadUnaligned(fromByteOffset: 8 * word, as: UInt64.self))
        guard bits & bit != 0 else { return nil }
        var packed = (bits & (bit - 1)).nonzeroBitCount
        for earlier in 0..<word {
            packed += UInt64(littleEndian: bitmap.loadUnaligned(fromByteOffset: 8 * earlier, as: UInt64.self)).nonzeroBitCount
        }
        return packed
    }

    /// Whether chunk `chunk` is stored sparse.
    package func isSparse(_ chunk: Int) -> Bool { chunk < chunkCount && bitmaps[chunk] != nil }

    /// Rewrites the stored, dense chunk `chunk` keeping only the elements `keep` accepts: sparse
    /// when some go, deleted when none stay. The table must not be used for this chunk afterwards
    /// in the same transaction. Returns the elements kept.
    package func rewriteSparse(_ chunk: Int, keep: (Int) -> Bool, in transaction: borrowing WriteTransaction) throws -> Int {
        guard chunk < chunkCount, let base = bases[chunk], owned[chunk] == nil else { return 0 }
        let positions = storedElements[chunk] ?? 0
        let isSparseNow = bitmaps[chunk] != nil
        var present: [Int] = []
        for index in 0..<positions {
            let exists = isSparseNow ? Self.packedIndex(bitmaps[chunk]!, index) != nil : true
            if exists && keep(index) { present.append(index) }
        }
        var key = prefix
        key.append(bigEndian: UInt32(chunk))
        if present.isEmpty {
            try storage { _ = try transaction.delete(key, in: database) }
            return 0
        }
        if !isSparseNow && present.count == positions { return positions }
        let (words, offset) = ChunkHeader.sparseLayout(positions: positions)
        var bitmap = [UInt64](repeating: 0, count: words)
        for index in present { bitmap[index >> 6] |= 1 << UInt64(index & 63) }
        // Copy the kept elements out first: the old value may move when the new one is written.
        let elementBytes = layout.elementBytes
        var packed = [UInt8](repeating: 0, count: present.count * elementBytes)
        packed.withUnsafeMutableBytes { destination in
            for (position, index) in present.enumerated() {
                let source = isSparseNow ? base + Self.packedIndex(bitmaps[chunk]!, index)! * elementBytes : base + index * elementBytes
                (destination.baseAddress! + position * elementBytes).copyMemory(from: source, byteCount: elementBytes)
            }
        }
        let header = ChunkHeader(owner: owner, chunk: UInt32(chunk), elements: UInt32(positions))
        try storage {
            try transaction.put(reservingCount: offset + packed.count, for: key, in: database) { value in
                value.initializeMemory(as: UInt8.self, repeating: 0)
                header.write(to: value.baseAddress!)
                value.baseAddress!.storeBytes(of: ChunkHeader.sparseMagic.littleEndian, as: UInt32.self)
                for (word, bits) in bitmap.enumerated() {
                    value.baseAddress!.storeBytes(of: bits.littleEndian, toByteOffset: ChunkHeader.bytes + 8 * word, as: UInt64.self)
                }
                packed.withUnsafeBytes { (value.baseAddress! + offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                ChunkHeader.seal(value)
            }
        }
        return present.count
    }

    /// Calls `body` with each of the first `count` elements that exist and its address, chunk by
    /// chunk (no division per element).
    package func forEachElement(count: Int, _ body: (UInt32, UnsafeRawPointer) -> Void) {
        let perChunk = layout.elementsPerChunk, stride = layout.elementBytes
        var chunk = 0
        while chunk * perChunk < count && chunk < chunkCount {
            if let base = bases[chunk] {
                let first = chunk * perChunk
                if let bitmap = bitmaps[chunk] {
                    var packed = 0
                    for index in 0..<min(perChunk, count - first) {
                        let bits = UInt64(littleEndian: bitmap.loadUnaligned(fromByteOffset: 8 * (index >> 6), as: UInt64.self))
                        guard bits & (1 << UInt64(index & 63)) != 0 else { continue }
                        body(UInt32(first + index), base + packed * stride)
                        packed += 1
                    }
                } else {
                    for index in 0..<min(perChunk, count - first) { body(UInt32(first + index), base + index * stride) }
                }
            }
            chunk += 1
        }
    }

    /// A writable address of `element`: its chunk is copied into owned memory first if needed (or
    /// created zero-filled when missing).
    package func mutableElement(_ element: UInt32) -> UnsafeMutableRawPointer {
        let (chunk, index) = layout.locate(element)
        let base: UnsafeMutableRawPointer
        if let existing = owned[chunk] {
            base = existing
        } else {
            let fullBytes = layout.elementsPerChunk * layout.elementBytes
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(fullBytes, 1), alignment: 64)
            buffer.initializeMemory(as: UInt8.self, repeating: 0, count: fullBytes)
            if chunk < chunkCount, let old = bases[chunk] {
                precondition(bitmaps[chunk] == nil, "a sparse chunk is never written in place")
                let count = storedElements[chunk] ?? layout.elementsPerChunk
                buffer.copyMemory(from: old, byteCount: count * layout.elementBytes)
            }
            owned[chunk] = buffer
            setBase(UnsafeRawPointer(buffer), at: chunk)
            base = buffer
        }
        return base + index * layout.elementBytes
    }

    /// Whether this transaction changed any chunk.
    package var hasChanges: Bool { !owned.isEmpty }

    /// Writes every changed chunk back, holding `elementCount` elements in all (the tail chunk is
    /// stored only as long as it is used).
    package func flush(elementCount: Int, in transaction: borrowing WriteTransaction) throws {
        for (chunk, buffer) in owned.sorted(by: { $0.key < $1.key }) {
            let first = chunk * layout.elementsPerChunk
            let count = min(layout.elementsPerChunk, max(0, elementCount - first))
            var key = prefix
            key.append(bigEndian: UInt32(chunk))
            if count == 0 {
                try storage { _ = try transaction.delete(key, in: database) }
                continue
            }
            let header = ChunkHeader(owner: owner, chunk: UInt32(chunk), elements: UInt32(count))
            try storage {
                try transaction.put(reservingCount: layout.valueBytes(elements: count), for: key, in: database) { value in
                    value.initializeMemory(as: UInt8.self, repeating: 0)
                    header.write(to: value.baseAddress!)
                    (value.baseAddress! + layout.headerBytes).copyMemory(from: buffer, byteCount: count * layout.elementBytes)
                    ChunkHeader.seal(value)
                }
            }
            storedElements[chunk] = count
        }
    }

    /// Deletes the stored chunk `chunk` (every element in it is dead).
    package func removeChunk(_ chunk: Int, in transaction: borrowing WriteTransaction) throws {
        var key = prefix
        key.append(bigEndian: UInt32(chunk))
        try storage { _ = try transaction.delete(key, in: database) }
        if let buffer = owned.removeValue(forKey: chunk) { buffer.deallocate() }
        if chunk < chunkCount {
            bases[chunk] = nil
            bitmaps[chunk] = nil
        }
        storedElements[chunk] = nil
    }
}

extension ChunkHeader {
    /// Every chunk value of `database` whose checksum or header does not hold, in words.
    package static func damagedChunks<Mode>(in database: Database, name: String, _ transaction: borrowing Transaction<Mode>,
                                            limit: Int = 100) throws -> [String] {
        var findings: [String] = []
        try storage {
            try transaction.forEach(in: database) { key, value in
                var reader = KeyReader(key)
                let owner = reader.readUInt32().map(String.init) ?? "?", chunk = reader.readUInt32().map(String.init) ?? "?"
                if ChunkHeader(value) == nil {
                    findings.append("\(name) chunk \(chunk) of \(owner) has no chunk header")
                } else if !isIntact(value) {
                    findings.append("\(name) chunk \(chunk) of \(owner) fails its checksum")
                }
                return findings.count < limit
            }
        }
        return findings
    }
}
