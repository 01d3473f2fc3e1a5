/// A value handed to other threads that the compiler cannot prove safe to share. Each use says
/// why it is: e.g. a view that no thread changes while the others read it.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
