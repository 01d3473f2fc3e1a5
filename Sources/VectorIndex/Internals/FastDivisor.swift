/// Division and remainder of 32-bit integers by a fixed divisor with two multiplications
/// (Lemire, Kaser and Kurz, "Faster remainder by direct computation", 2019).
struct FastDivisor: Sendable, Equatable {
    let divisor: UInt32
    private let magic: UInt64

    /// - Precondition: `divisor >= 1`.
    init(_ divisor: Int) {
        precondition(divisor >= 1 && divisor <= Int(UInt32.max))
        self.divisor = UInt32(divisor)
        magic = divisor == 1 ? 0 : UInt64.max / UInt64(divisor) &+ 1
    }

    /// `value / divisor` and `value % divisor`.
    @inline(__always)
    func divide(_ value: UInt32) -> (quotient: Int, remainder: Int) {
        if divisor == 1 { return (Int(value), 0) }
        let quotient = magic.multipliedFullWidth(by: UInt64(value)).high
        let low = magic &* UInt64(value)
        let remainder = low.multipliedFullWidth(by: UInt64(divisor)).high
        return (Int(quotient), Int(remainder))
    }
}
