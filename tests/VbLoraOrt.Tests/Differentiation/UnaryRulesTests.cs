namespace VbLoraOrt.Tests.Differentiation;

/// <summary>Rules for elementwise unary math, checked against central differences.</summary>
[TestClass]
public sealed class UnaryRulesTests
{
    [TestMethod]
    [DataRow("Neg", -1.0, 1.0)]
    [DataRow("Sqrt", 0.5, 2.0)]
    [DataRow("Exp", -1.0, 1.0)]
    [DataRow("Log", 0.5, 2.0)]
    [DataRow("Tanh", -2.0, 2.0)]
    [DataRow("Sigmoid", -2.0, 2.0)]
    [DataRow("Identity", -1.0, 1.0)]
    public void Unary_InFloat64_MatchesCentralDifferences(string op, double low, double high) =>
        new GradientCheck().Input("x", [2, 3], ["batch", 3], low: low, high: high)
            .Node(op, ["x"], ["y"]).Verify();

    // Tolerance: GradientCheck.Tolerance.Float (ORT's CPU Erf kernel is float32 only).
    [TestMethod]
    public void Erf_InFloat32_MatchesCentralDifferences() =>
        new GradientCheck(useDouble: false).Input("x", [2, 5], low: -2, high: 2)
            .Node("Erf", ["x"], ["y"]).Verify();

    [TestMethod]
    public void Relu_AwayFromZero_MatchesCentralDifferences() =>
        new GradientCheck().Input("x", [2, 3], [-1.5, -0.5, 0.3, 0.9, -0.2, 1.7])
            .Node("Relu", ["x"], ["y"]).Verify();

    [TestMethod]
    public void GeluAsExportedByTorch_MatchesCentralDifferences() =>
        // x·(1 + erf(x/√2))/2, exactly as torch 1.10 exports it (float32: Erf).
        new GradientCheck(useDouble: false).Input("x", [3, 4], low: -2, high: 2)
            .Scalar("sqrt2", 1.4142135381698608).Scalar("one", 1).Scalar("half", 0.5)
            .Node("Div", ["x", "sqrt2"], ["a"]).Node("Erf", ["a"], ["b"]).Node("Add", ["b", "one"], ["c"])
            .Node("Mul", ["x", "c"], ["d"]).Node("Mul", ["d", "half"], ["y"]).Verify();
}
