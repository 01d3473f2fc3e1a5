/// Why a vector was refused.
public enum VectorError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The vector has no components.
    case empty
    /// Every component is zero: it has no direction, so no cosine.
    case zeroVector
    /// The component at `index` is NaN or infinite.
    case nonFinite(index: Int)
    /// The vector has `actual` components where `expected` were required.
    case dimensionMismatch(expected: Int, actual: Int)

    public var description: String {
        switch self {
        case .empty: "the vector is empty"
        case .zeroVector: "the vector is all zeros and has no direction"
        case .nonFinite(let index): "component \(index) of the vector is NaN or infinite"
        case .dimensionMismatch(let expected, let actual): "expected a vector of dimension \(expected), got \(actual)"
        }
    }
}

/// Checks that every component is finite and the vector is not zero; returns its Euclidean norm.
/// - Throws: ``VectorError/empty``, ``VectorError/nonFinite(index:)`` or ``VectorError/zeroVector``.
/// - Complexity: O(*d*).
public func validatedNorm(_ vector: UnsafeBufferPointer<Float>) throws(VectorError) -> Double {
    guard !vector.isEmpty else { throw .empty }
    var sum = 0.0  // Double: squares of large finite Floats must not overflow.
    for (index, component) in vector.enumerated() {
        guard component.isFinite else { throw .nonFinite(index: index) }
        sum += Double(component) * Double(component)
    }
    let norm = sum.squareRoot()
    guard norm > 0, norm.isFinite, Float(1 / norm).isFinite else { throw .zeroVector }
    return norm
}

/// Scales `vector` to unit length in place, after ``validatedNorm(_:)``. A vector already of unit
/// length (within 1e-6) is left exactly as it is, so that stored vectors survive an export and an
/// import bit for bit.
public func normalize(_ vector: UnsafeMutableBufferPointer<Float>) throws(VectorError) {
    let norm = try validatedNorm(UnsafeBufferPointer(vector))
    if abs(norm - 1) <= 1e-6 { return }
    for index in vector.indices { vector[index] = Float(Double(vector[index]) / norm) }
}

/// `vector` scaled to unit length, after ``validatedNorm(_:)``.
public func normalized(_ vector: [Float]) throws(VectorError) -> [Float] {
    var copy = vector
    try copy.withUnsafeMutableBufferPointer { (buffer) throws(VectorError) in try normalize(buffer) }
    return copy
}

/// Checks `vector` as ``validatedNorm(_:)`` does: the one check of every boundary that takes a vector.
/// - Throws: ``VectorError/empty``, ``VectorError/nonFinite(index:)`` or ``VectorError/zeroVector``.
public func validateVector(_ vector: [Float]) throws(VectorError) {
    _ = try vector.withUnsafeBufferPointer { (buffer) throws(VectorError) in try validatedNorm(buffer) }
}
