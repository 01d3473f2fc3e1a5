import CTransformer
import Dispatch
import Foundation

/// A matrix-product kernel of CTransformer (AVX-512, AVX2+FMA or portable C).
package struct GemmKernel: @unchecked Sendable, Hashable {
    // Sendable: `handle` names a static, immutable table of C function pointers.
    let handle: OpaquePointer

    /// The fastest kernel this CPU runs.
    package static var best: GemmKernel { GemmKernel(handle: hs_gemm_best_kernel()) }

    /// The kernel named `name` ("avx512", "avx2", "portable"), or nil when this CPU cannot run it.
    package init?(named name: String) {
        guard let handle = hs_gemm_named_kernel(name) else { return nil }
        self.handle = handle
    }

    private init(handle: OpaquePointer) { self.handle = handle }

    package var name: String { String(cString: hs_gemm_kernel_name(handle)) }
}

/// An integer matrix-product kernel of CTransformer (AVX-512 VNNI or portable C), for ``EmbeddingPrecision/int8``.
package struct IntegerGemmKernel: @unchecked Sendable, Hashable {
    // Sendable: `handle` names a static, immutable table of C function pointers.
    let handle: OpaquePointer

    /// The fastest integer kernel this CPU runs (the portable one when `HINDSIGHT_DISABLE_VNNI` is set).
    package static var best: IntegerGemmKernel {
        if ProcessInfo.processInfo.environment["HINDSIGHT_DISABLE_VNNI"] != nil, let portable = IntegerGemmKernel(named: "portable") {
            return portable
        }
        return IntegerGemmKernel(handle: hs_qgemm_best_kernel())
    }

    /// The kernel named `name` ("avx512vnni", "portable"), or nil when this CPU cannot run it.
    package init?(named name: String) {
        guard let handle = hs_qgemm_named_kernel(name) else { return nil }
        self.handle = handle
    }

    private init(handle: OpaquePointer) { self.handle = handle }

    package var name: String { String(cString: hs_qgemm_kernel_name(handle)) }
}

/// A bf16 matrix-product kernel of CTransformer (AVX512-BF16 or portable C), for ``EmbeddingPrecision/bf16``.
package struct BF16GemmKernel: @unchecked Sendable, Hashable {
    // Sendable: `handle` names a static, immutable table of C function pointers.
    let handle: OpaquePointer

    /// The fastest bf16 kernel this CPU runs (the portable one when `HINDSIGHT_DISABLE_AVX512_BF16` is set).
    package static var best: BF16GemmKernel {
        if ProcessInfo.processInfo.environment["HINDSIGHT_DISABLE_AVX512_BF16"] != nil, let portable = BF16GemmKernel(named: "portable") {
            return portable
        }
        return BF16GemmKernel(handle: hs_bgemm_best_kernel())
    }

    /// The kernel named `name` ("avx512bf16", "portable"), or nil when this CPU cannot run it.
    package init?(named name: String) {
        guard let handle = hs_bgemm_named_kernel(name) else { return nil }
        self.handle = handle
    }

    private init(handle: OpaquePointer) { self.handle = handle }

    package var name: String { String(cString: hs_bgemm_kernel_name(handle)) }
}

/// Where a low-precision linear layer writes its converted input rows, for the rows one worker
/// owns: int8 rows (`stride` bytes each) with their blocks' scales and offsets (`blockStride` per
/// row), or bf16 rows (`bf16Stride` values each).
struct QuantizedRows {
    let bytes: UnsafeMutablePointer<Int8>
    let stride: Int
    let scales: UnsafeMutablePointer<Float>
    let offsets: UnsafeMutablePointer<Int32>
    let blockStride: Int
    let bf16: UnsafeMutablePointer<UInt16>
    let bf16Stride: Int
}

/// A linear layer y = x Wᵀ + b with W packed for `hs_gemm` (f32) or quantised for `hs_qgemm` (int8).
struct PackedLinear: @unchecked Sendable {
    // Sendable: the packed weights and bias are written once while loading, then only read.
    enum Weights {
        case float(GemmKernel, FloatBuffer)
        /// Weights quantised per output channel and block of 32 inputs (stored + 128), with the blocks' scales.
        case int8(IntegerGemmKernel, AlignedBuffer<UInt8>, scales: FloatBuffer)
        /// Weights rounded to bf16, packed in pairs of inputs.
        case bf16(BF16GemmKernel, AlignedBuffer<UInt16>)
    }

    let inputs: Int
    let outputs: Int
    let weights: Weights
    let bias: FloatBuffer

    /// Packs `weight` (`outputs` rows of `inputs` floats, PyTorch's layout) for `precision` and copies `bias`.
    init(kernel: GemmKernel, integerKernel: IntegerGemmKernel, bf16Kernel: BF16GemmKernel, precision: EmbeddingPrecision,
         weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, inputs: Int, outputs: Int) {
        self.inputs = inputs
        self.outputs = outputs
        switch precision {
        case .f32:
            let packed = FloatBuffer(count: hs_gemm_packed_count(kernel.handle, Int32(outputs), Int32(inputs)))
            hs_gemm_pack_transposed(kernel.handle, weight, inputs, Int32(outputs), Int32(inputs), packed.pointer)
            weights = .float(kernel, packed)
        case .int8:
            let packed = AlignedBuffer<UInt8>(count: hs_qgemm_packed_bytes(Int32(outputs), Int32(inputs)))
            let scales = FloatBuffer(count: hs_qgemm_scale_count(Int32(outputs), Int32(inputs)))
            hs_qgemm_pack_weights(weight, inputs, Int32(outputs), Int32(inputs), packed.pointer, scales.pointer)
            weights = .int8(integerKernel, packed, scales: scales)
        case .bf16:
            let packed = AlignedBuffer<UInt16>(count: hs_bgemm_packed_count(Int32(outputs), Int32(inputs)))
            hs_bgemm_pack_weights(weight, inputs, Int32(outputs), Int32(inputs), packed.pointer)
            weights = .bf16(bf16Kernel, packed)
        }
        self.bias = FloatBuffer(copying: bias, count: outputs)
    }

    /// output[r] = input[r] Wᵀ + b (+ output[r] when `accumulate`), for `rows` rows; an int8 layer
    /// quantises (a bf16 layer converts) the rows into `scratch` first.
    func apply(_ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>, accumulate: Bool = false,
               scratch: QuantizedRows) {
        switch weights {
        case .float(let kernel, let packed):
            hs_gemm(kernel.handle, Int32(rows), Int32(outputs), Int32(inputs), 1, input, inputs, packed.pointer, bias.pointer,
                    accumulate ? 1 : 0, output, outputs)
        case .int8(let kernel, let packed, let scales):
            hs_qgemm_quantize_rows(kernel.handle, input, inputs, Int32(rows), Int32(inputs), scratch.bytes, scratch.stride, scratch.scales, scratch.offsets,
                                   scratch.blockStride)
            hs_qgemm(kernel.handle, Int32(rows), Int32(outputs), Int32(inputs), scratch.bytes, scratch.stride, scratch.scales,
                     scratch.offsets, scratch.blockStride, packed.pointer, scales.pointer, bias.pointer, accumulate ? 1 : 0, output, outputs)
        case .bf16(let kernel, let packed):
            hs_bgemm_convert_rows(kernel.handle, input, inputs, Int32(rows), Int32(inputs), scratch.bf16, scratch.bf16Stride)
            hs_bgemm(kernel.handle, Int32(rows), Int32(outputs), Int32(inputs), scratch.bf16, scratch.bf16Stride, packed.pointer,
                     bias.pointer, accumulate ? 1 : 0, output, outputs)
        }
    }
}

/// Scale and shift of a layer normalisation.
struct LayerNorm: @unchecked Sendable {
    // Sendable: gamma and beta are written once while loading, then only read.
    let gamma: FloatBuffer
    let beta: FloatBuffer
    let epsilon: Float

    func apply(_ x: UnsafeMutablePointer<Float>, rows: Int) {
        hs_layer_norm(x, rows, Int32(gamma.count), gamma.pointer, beta.pointer, epsilon)
    }
}

/// A BERT encoder's weights, read from safetensors and packed for the matrix-product kernel.
final class BertWeights: Sendable {
    struct Layer: Sendable {
        /// Query, key and value projections fused: output columns [q | k | v].
        let attention: PackedLinear
        let attentionOutput: PackedLinear
        let attentionNorm: LayerNorm
        let intermediate: PackedLinear
        let output: PackedLinear
        let outputNorm: LayerNorm
    }

    let configuration: BertConfiguration
    /// The matrix-product kernel of attention (and of the dense layers in f32).
    let kernel: GemmKernel
    /// The arithmetic of the dense layers.
    let precision: EmbeddingPrecision
    /// The integer kernel of the dense layers in int8.
    let integerKernel: IntegerGemmKernel
    /// The bf16 kernel of the dense layers in bf16.
    let bf16Kernel: BF16GemmKernel
    let wordEmbeddings: FloatStorage
    let positionEmbeddings: FloatBuffer
    let tokenTypeEmbedding: FloatBuffer  // row 0: every token is of type 0
    let embeddingNorm: LayerNorm
    let layers: [Layer]

    init(file: SafeTensorsFile, configuration c: BertConfiguration, kernel: GemmKernel = .best, precision: EmbeddingPrecision = .f32,
         integerKernel: IntegerGemmKernel = .best, bf16Kernel: BF16GemmKernel = .best) throws(EmbeddingError) {
        configuration = c
        self.bf16Kernel = bf16Kernel
        self.kernel = kernel
        self.precision = precision
        self.integerKernel = integerKernel
        let h = c.hiddenSize
        func vector(_ name: String, _ count: Int) throws(EmbeddingError) -> FloatBuffer {
            let storage = try file.floats(name, shape: [count])
            return FloatBuffer(copying: storage.pointer, count: count)
        }
        func norm(_ prefix: String) throws(EmbeddingError) -> LayerNorm {
            LayerNorm(gamma: try vector(prefix + ".weight", h), beta: try vector(prefix + ".bias", h), epsilon: c.layerNormEpsilon)
        }
        func linear(_ prefix: String, inputs: Int, outputs: Int) throws(EmbeddingError) -> PackedLinear {
            let weight = try file.floats(prefix + ".weight", shape: [outputs, inputs])
            let bias = try file.floats(prefix + ".bias", shape: [outputs])
            return PackedLinear(kernel: kernel, integerKernel: integerKernel, bf16Kernel: bf16Kernel, precision: precision, weight: weight.pointer, bias: bias.pointer,
                                inputs: inputs, outputs: outputs)
        }
        wordEmbeddings = try file.floats("embeddings.word_embeddings.weight", shape: [c.vocabularySize, h])
        positionEmbeddings = FloatBuffer(copying: try file.floats("embeddings.position_embeddings.weight", shape: [c.maxPositions, h]).pointer,
                                         count: c.maxPositions * h)
        tokenTypeEmbedding = FloatBuffer(copying: try file.floats("embeddings.token_type_embeddings.weight", shape: [c.typeVocabularySize, h]).pointer,
                                         count: h)
        embeddingNorm = try norm("embeddings.LayerNorm")
        var layers: [Layer] = []
        for index in 0..<c.layers {
            let prefix = "encoder.layer.\(index)."
            // Fuse Q, K and V into one (3h x h) weight so that one product computes all three.
            let fusedWeight = FloatBuffer(count: 3 * h * h)
            let fusedBias = FloatBuffer(count: 3 * h)
            for (part, name) in ["query", "key", "value"].enumerated() {
                let weight = try file.floats(prefix + "attention.self.\(name).weight", shape: [h, h])
                let bias = try file.floats(prefix + "attention.self.\(name).bias", shape: [h])
                (fusedWeight.pointer + part * h * h).update(from: weight.pointer, count: h * h)
                (fusedBias.pointer + part * h).update(from: bias.pointer, count: h)
            }
            layers.append(Layer(
                attention: PackedLinear(kernel: kernel, integerKernel: integerKernel, bf16Kernel: bf16Kernel, precision: precision, weight: fusedWeight.pointer,
                                        bias: fusedBias.pointer, inputs: h, outputs: 3 * h),
                attentionOutput: try linear(prefix + "attention.output.dense", inputs: h, outputs: h),
                attentionNorm: try norm(prefix + "attention.output.LayerNorm"),
                intermediate: try linear(prefix + "intermediate.dense", inputs: h, outputs: c.intermediateSize),
                output: try linear(prefix + "output.dense", inputs: c.intermediateSize, outputs: h),
                outputNorm: try norm(prefix + "output.LayerNorm")))
        }
        self.layers = layers
    }
}

/// Scratch memory of one forward pass, reused from call to call (it only grows).
final class EncoderWorkspace: @unchecked Sendable {
    // Sendable: one forward pass at a time uses a workspace (the embedder's serial queue), and its
    // worker threads write disjoint rows and their own AttentionScratch.
    /// Per-worker buffers of attention: one sequence and head at a time.
    final class AttentionScratch: @unchecked Sendable {
        // Sendable: each belongs to one worker thread of a forward pass.
        var scores = FloatBuffer(count: 0)        // length x length
        var packedKeys = FloatBuffer(count: 0)
        var packedValues = FloatBuffer(count: 0)
    }

    private(set) var tokenCapacity = 0
    private(set) var lengthCapacity = 0
    private(set) var hidden = FloatBuffer(count: 0)        // tokens x h
    private(set) var projections = FloatBuffer(count: 0)   // tokens x 3h
    private(set) var context = FloatBuffer(count: 0)       // tokens x h
    private(set) var intermediate = FloatBuffer(count: 0)  // tokens x intermediate
    /// The int8 precision's quantised input rows (tokens x ``quantizedStride`` bytes) and their
    /// blocks' scales and offsets (tokens x ``blockStride``).
    private(set) var quantized = AlignedBuffer<Int8>(count: 0)
    private(set) var quantizedScales = FloatBuffer(count: 0)
    private(set) var quantizedOffsets = AlignedBuffer<Int32>(count: 0)
    private(set) var quantizedStride = 0
    private(set) var blockStride = 0
    private(set) var quantizedCapacity = 0
    /// The bf16 precision's converted input rows (tokens x ``bf16Stride`` values).
    private(set) var bf16Rows = AlignedBuffer<UInt16>(count: 0)
    private(set) var bf16Stride = 0
    private(set) var bf16Capacity = 0
    private(set) var attention: [AttentionScratch] = []

    func reserve(tokens: Int, longest: Int, workers: Int, configuration c: BertConfiguration, kernel: GemmKernel,
                 precision: EmbeddingPrecision) {
        if tokens > tokenCapacity {
            tokenCapacity = tokens
            hidden = FloatBuffer(count: tokens * c.hiddenSize)
            projections = FloatBuffer(count: tokens * 3 * c.hiddenSize)
            context = FloatBuffer(count: tokens * c.hiddenSize)
            intermediate = FloatBuffer(count: tokens * c.intermediateSize)
        }
        // Quantised rows only for int8 (an f32 model never touches them).
        if precision == .int8 && tokens > quantizedCapacity {
            quantizedCapacity = tokens
            let widest = Int32(max(c.hiddenSize, c.intermediateSize))
            quantizedStride = hs_qgemm_row_bytes(widest)
            blockStride = hs_qgemm_blocks(widest)
            quantized = AlignedBuffer<Int8>(count: tokens * quantizedStride)
            quantizedScales = FloatBuffer(count: tokens * blockStride)
            quantizedOffsets = AlignedBuffer<Int32>(count: tokens * blockStride)
        }
        if precision == .bf16 && tokens > bf16Capacity {
            bf16Capacity = tokens
            bf16Stride = hs_bgemm_row_elements(Int32(max(c.hiddenSize, c.intermediateSize)))
            bf16Rows = AlignedBuffer<UInt16>(count: tokens * bf16Stride)
        }
        while attention.count < workers { attention.append(AttentionScratch()) }
        if longest > lengthCapacity { lengthCapacity = longest }
        for scratch in attention where scratch.scores.count < lengthCapacity * lengthCapacity {
            scratch.scores = FloatBuffer(count: lengthCapacity * lengthCapacity)
            scratch.packedKeys = FloatBuffer(count: hs_gemm_packed_count(kernel.handle, Int32(lengthCapacity), Int32(c.headSize)))
            scratch.packedValues = FloatBuffer(count: hs_gemm_packed_count(kernel.handle, Int32(c.headSize), Int32(lengthCapacity)))
        }
    }
}

/// The forward pass. Sequences of a batch are packed one after another without padding: the
/// dense layers run on all their tokens at once, attention runs per sequence and head.
struct BertEncoder: Sendable {
    let weights: BertWeights

    /// The pooled, L2-normalised vector of each token sequence (`[CLS] … [SEP]`, ids below the
    /// vocabulary size, at most `maxPositions` long). With `threads` > 1 every step is split: the
    /// dense layers by rows, attention by (sequence, head).
    func encode(_ sequences: [[Int32]], pooling: PoolingMode, workspace: EncoderWorkspace, threads: Int = 1) -> [[Float]] {
        let c = weights.configuration
        let h = c.hiddenSize, intermediateSize = c.intermediateSize
        let tokens = sequences.reduce(0) { $0 + $1.count }
        let longest = sequences.reduce(0) { max($0, $1.count) }
        guard tokens > 0 else { return sequences.map { _ in [] } }
        // Rows go to workers in multiples of 12 (the AVX-512 kernel's tile height).
        let workers = max(1, min(threads, (tokens + 11) / 12))
        let rowsPerWorker = ((tokens + workers - 1) / workers + 11) / 12 * 12
        @Sendable func rows(_ worker: Int) -> Range<Int> {
            min(tokens, worker * rowsPerWorker)..<min(tokens, (worker + 1) * rowsPerWorker)
        }
        func inParallel(_ body: @Sendable (Int) -> Void) {
            if workers == 1 { body(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: body) }
        }
        let gemm = weights.kernel
        workspace.reserve(tokens: tokens, longest: longest, workers: workers, configuration: c, kernel: weights.kernel,
                          precision: weights.precision)
        let x = workspace.hidden.pointer

        // Embeddings: word + position + token type 0, then layer norm.
        var row = 0
        let word = weights.wordEmbeddings.pointer
        for sequence in sequences {
            for (position, id) in sequence.enumerated() {
                let out = x + row * h
                let wordRow = word + Int(id) * h
                let positionRow = weights.positionEmbeddings.pointer + position * h
                for j in 0..<h { out[j] = wordRow[j] + positionRow[j] + weights.tokenTypeEmbedding.pointer[j] }
                row += 1
            }
        }
        weights.embeddingNorm.apply(x, rows: tokens)

        let heads = c.attentionHeads, headSize = c.headSize
        let scale = 1 / Float(headSize).squareRoot()
        // The closures below run on several threads; each writes its own rows (or its own
        // sequence-and-head columns of the context), so they share the buffers, not the data.
        let hidden = workspace.hidden, projections = workspace.projections
        let contexts = workspace.context, intermediate = workspace.intermediate
        let offsets = sequences.reduce(into: [0]) { $0.append($0.last! + $1.count) }
        let attention = workspace.attention
        let quantized = workspace.quantized, quantizedScales = workspace.quantizedScales, quantizedOffsets = workspace.quantizedOffsets
        let quantizedStride = workspace.quantizedStride, blockStride = workspace.blockStride
        let bf16Rows = workspace.bf16Rows, bf16Stride = workspace.bf16Stride
        // Each worker quantises (int8) or converts (bf16) its own rows, into its own rows of the scratch.
        @Sendable func scratch(_ range: Range<Int>) -> QuantizedRows {
            QuantizedRows(bytes: quantized.pointer + range.lowerBound * quantizedStride, stride: quantizedStride,
                          scales: quantizedScales.pointer + range.lowerBound * blockStride,
                          offsets: quantizedOffsets.pointer + range.lowerBound * blockStride, blockStride: blockStride,
                          bf16: bf16Rows.pointer + range.lowerBound * bf16Stride, bf16Stride: bf16Stride)
        }
        for layer in weights.layers {
            inParallel { worker in
                let range = rows(worker)
                let x = hidden.pointer, qkv = projections.pointer
                layer.attention.apply(x + range.lowerBound * h, rows: range.count, into: qkv + range.lowerBound * 3 * h, scratch: scratch(range))
            }
            // Attention, one (sequence, head) at a time; worker w takes items w, w + workers, …
            inParallel { worker in
                let scratch = attention[worker]
                let qkv = projections.pointer, context = contexts.pointer, kernel = gemm.handle
                var item = worker
                while item < sequences.count * heads {
                    let (sequence, head) = item.quotientAndRemainder(dividingBy: heads)
                    let n = sequences[sequence].count
                    let base = qkv + offsets[sequence] * 3 * h
                    let query = base + head * headSize
                    let key = base + h + head * headSize
                    let value = base + 2 * h + head * headSize
                    let scores = scratch.scores.pointer
                    hs_gemm_pack_transposed(kernel, key, 3 * h, Int32(n), Int32(headSize), scratch.packedKeys.pointer)
                    hs_gemm(kernel, Int32(n), Int32(n), Int32(headSize), scale, query, 3 * h, scratch.packedKeys.pointer, nil, 0, scores, n)
                    hs_softmax_rows(scores, Int32(n), Int32(n), n)
                    hs_gemm_pack(kernel, value, 3 * h, Int32(n), Int32(headSize), scratch.packedValues.pointer)
                    hs_gemm(kernel, Int32(n), Int32(headSize), Int32(n), 1, scores, n, scratch.packedValues.pointer, nil, 0,
                            context + offsets[sequence] * h + head * headSize, h)
                    item += workers
                }
            }
            // x = LayerNorm(x + context Woᵀ + bo); x = LayerNorm(x + GELU(x Wiᵀ + bi) W2ᵀ + b2)
            inParallel { worker in
                let range = rows(worker)
                let x = hidden.pointer, context = contexts.pointer, inner = intermediate.pointer
                let xRows = x + range.lowerBound * h, innerRows = inner + range.lowerBound * intermediateSize
                let rowsScratch = scratch(range)
                layer.attentionOutput.apply(context + range.lowerBound * h, rows: range.count, into: xRows, accumulate: true, scratch: rowsScratch)
                layer.attentionNorm.apply(xRows, rows: range.count)
                layer.intermediate.apply(xRows, rows: range.count, into: innerRows, scratch: rowsScratch)
                hs_gelu(innerRows, range.count * intermediateSize)
                layer.output.apply(innerRows, rows: range.count, into: xRows, accumulate: true, scratch: rowsScratch)
                layer.outputNorm.apply(xRows, rows: range.count)
            }
        }

        var vectors: [[Float]] = []
        vectors.reserveCapacity(sequences.count)
        var offset = 0
        for sequence in sequences {
            let n = sequence.count
            var pooled = [Float](repeating: 0, count: h)
            switch pooling {
            case .cls:
                for j in 0..<h { pooled[j] = x[offset * h + j] }
            case .mean:
                for t in 0..<n {
                    let tokenRow = x + (offset + t) * h
                    for j in 0..<h { pooled[j] += tokenRow[j] }
                }
                let inverse = 1 / Float(max(1, n))
                for j in 0..<h { pooled[j] *= inverse }
            }
            vectors.append(normalized(pooled))
            offset += n
        }
        return vectors
    }
}

/// `vector` scaled to unit length (a zero vector stays zero).
func normalized(_ vector: [Float]) -> [Float] {
    var squares: Double = 0
    for value in vector { squares += Double(value) * Double(value) }
    guard squares > 0 else { return vector }
    let inverse = Float(1 / squares.squareRoot())
    return vector.map { $0 * inverse }
}

extension FloatBuffer {
    /// A copy of `count` floats from `source`.
    convenience init(copying source: UnsafePointer<Float>, count: Int) {
        self.init(count: count)
        pointer.update(from: source, count: count)
    }
}
