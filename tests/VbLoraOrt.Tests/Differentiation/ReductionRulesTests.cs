using VbLoraOrt.Onnx;

namespace VbLoraOrt.Tests.Differentiation;

/// <summary>ReduceSum / ReduceMean with axes as attribute and as input, checked against central differences.</summary>
[TestClass]
public sealed class ReductionRulesTests
{
    [TestMethod]
    [DataRow(1)]
    [DataRow(0)]
    public void ReduceMean_AxesAttributeWithNegativeAxis_MatchesCentralDifferences(int keepDims) =>
        new GradientCheck().Input("x", [2, 3, 4], ["batch", "seq", 4])
            .Node("ReduceMean", ["x"], ["y"], Attr.Ints("axes", -1), Attr.Int("keepdims", keepDims)).Verify();

    [TestMethod]
    public void ReduceMean_OverSymbolicAxes_UsesRunTimeCount() =>
        new GradientCheck().Input("x", [2, 3, 4], ["batch", "seq", 4])
            .Node("ReduceMean", ["x"], ["y"], Attr.Ints("axes", 0, 1), Attr.Int("keepdims", 0)).Verify();

    [TestMethod]
    public void ReduceMean_AllAxes_MatchesCentralDifferences() =>
        new GradientCheck().Input("x", [2, 3])
            .Node("ReduceMean", ["x"], ["y"], Attr.Int("keepdims", 0)).Verify();

    [TestMethod]
    [DataRow(1)]
    [DataRow(0)]
    public void ReduceMean_AtOpset18AxesInput_MatchesCentralDifferences(int keepDims) =>
        new GradientCheck(opset: 18).Input("x", [2, 3, 4]).Ints("axes", 1, -1)
            .Node("ReduceMean", ["x", "axes"], ["y"], Attr.Int("keepdims", keepDims)).Verify();

    [TestMethod]
    [DataRow(1)]
    [DataRow(0)]
    public void ReduceSum_BeforeOpset13AxesAttribute_MatchesCentralDifferences(int keepDims) =>
        new GradientCheck(opset: 11).Input("x", [2, 3, 4])
            .Node("ReduceSum", ["x"], ["y"], Attr.Ints("axes", 0, -1), Attr.Int("keepdims", keepDims)).Verify();

    [TestMethod]
    [DataRow(1)]
    [DataRow(0)]
    public void ReduceSum_AtOpset13AxesInput_MatchesCentralDifferences(int keepDims) =>
        new GradientCheck().Input("x", [2, 3, 4], ["batch", 3, 4]).Ints("axes", -2)
            .Node("ReduceSum", ["x", "axes"], ["y"], Attr.Int("keepdims", keepDims)).Verify();

    [TestMethod]
    public void ReduceSum_WithRunTimeAxes_MatchesCentralDifferences() =>
        new GradientCheck().Input("x", [2, 3, 4]).IntInput("axes", [1], [1])
            .Node("ReduceSum", ["x", "axes"], ["y"], Attr.Int("keepdims", 0)).Verify();

    [TestMethod]
    public void ReduceSum_NoopWithEmptyAxes_IsTheIdentity() =>
        new GradientCheck().Input("x", [2, 3])
            .Node("ReduceSum", ["x"], ["y"], Attr.Int("noop_with_empty_axes", 1)).Verify();
}
