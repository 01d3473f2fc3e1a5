import Benchmark
import Distance

/// ns per pair of each dot-product kernel at the dimensions of common embedding models.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput], scalingFactor: .kilo, maxDuration: .seconds(2))
    for kernel in DotProductKernel.available {
        for dimension in [384, 768, 1536] {
            // 64-byte aligned, as vectors sit in overflow pages; and at a 2-byte offset, as LMDB
            // hands out values stored inside a leaf page.
            for offset in [0, 2] {
                Benchmark("dot \(kernel) d=\(dimension) \(offset == 0 ? "aligned" : "offset 2")") { benchmark in
                    let a = UnsafeMutableRawPointer.allocate(byteCount: dimension * 4 + 64, alignment: 64)
                    let b = UnsafeMutableRawPointer.allocate(byteCount: dimension * 4 + 64, alignment: 64)
                    defer { a.deallocate(); b.deallocate() }
                    for i in 0..<dimension {
                        (a + offset).storeBytes(of: Float(i % 7) * 0.1, toByteOffset: 4 * i, as: Float.self)
                        (b + offset).storeBytes(of: Float(i % 5) * 0.2, toByteOffset: 4 * i, as: Float.self)
                    }
                    benchmark.startMeasurement()
                    for _ in benchmark.scaledIterations {
                        blackHole(kernel(UnsafeRawPointer(a + offset), UnsafeRawPointer(b + offset), count: dimension))
                    }
                }
            }
        }
    }
}
