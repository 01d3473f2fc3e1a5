import Distance

/// The name of the dot-product kernel this CPU runs, for reports.
public enum DotProductKernelName {
    public static var best: String { DotProductKernel.best.description }
}
