using Onnx;
using VbLoraOrt.Differentiation;
using VbLoraOrt.Differentiation.Core;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Differentiation;

/// <summary>Rules for broadcasting arithmetic, each checked against central differences (float64).</summary>
[TestClass]
public sealed class ElementwiseRulesTests
{
    [TestMethod]
    public void Add_WithBiasBroadcast_SumsBiasGradientOverBatchAndSequence() =>
        new GradientCheck().Input("x", [2, 3, 4]).Input("b", [4])
            .Node("Add", ["b", "x"], ["y"]).Verify();

    [TestMethod]
    public void Add_WithAttentionMaskB11S_SumsMaskGradientOverHeadsAndQueries() =>
        new GradientCheck().Input("scores", [2, 3, 4, 4]).Input("mask", [2, 1, 1, 4])
            .Node("Add", ["scores", "mask"], ["y"]).Verify();

    [TestMethod]
    public void Add_WithSymbolicBatchAndSequence_ReducesStatically()
    {
        var backward = new GradientCheck()
            .Input("scores", [2, 3, 5, 5], ["batch", 3, "seq", "seq"]).Input("mask", [2, 1, 1, 5], ["batch", 1, 1, "seq"])
            .Node("Add", ["scores", "mask"], ["y"]).Verify();
        Assert.IsFalse(backward.Nodes.Any(n => n.OpType == "NonZero"), "symbolic dims decide the reduction without run-time Shape arithmetic");
    }

    [TestMethod]
    public void Add_WithUnknownShapes_ReducesWithRunTimeShapeArithmetic()
    {
        var backward = new GradientCheck()
            .Input("x", [2, 3, 4], unknownRank: true).Input("b", [3, 1], ["rows", "one"])
            .Node("Add", ["x", "b"], ["y"]).Verify();
        Assert.IsTrue(backward.Nodes.Any(n => n.OpType == "NonZero"), "unknown shapes fall back to run-time axes");
    }

    [TestMethod]
    public void Add_WithDistinctSymbolicDims_ReducesWithRunTimeShapeArithmetic() =>
        new GradientCheck().Input("x", [2, 3], ["n", "m"]).Input("b", [1, 3], ["k", "m"])
            .Node("Add", ["x", "b"], ["y"]).Verify();

    [TestMethod]
    public void Sub_WithBroadcastSubtrahend_NegatesAndReduces() =>
        new GradientCheck().Input("x", [2, 3, 4]).Input("mean", [2, 3, 1])
            .Node("Sub", ["x", "mean"], ["y"]).Verify();

    [TestMethod]
    public void Mul_WithBothSidesBroadcast_MatchesCentralDifferences() =>
        new GradientCheck().Input("a", [2, 1, 4]).Input("b", [3, 1])
            .Node("Mul", ["a", "b"], ["y"]).Verify();

    [TestMethod]
    public void Mul_OfValueWithItself_AccumulatesBothOperands() =>
        new GradientCheck().Input("x", [3, 4])
            .Node("Mul", ["x", "x"], ["y"]).Verify();

    [TestMethod]
    public void Div_WithBroadcastDenominator_MatchesCentralDifferences() =>
        new GradientCheck().Input("a", [2, 3, 4]).Input("b", [2, 3, 1], low: 0.5, high: 2)
            .Node("Div", ["a", "b"], ["y"]).Verify();

    [TestMethod]
    public void Div_ByConstantScalar_MatchesCentralDifferences() =>
        new GradientCheck().Input("a", [2, 3]).Scalar("scale", 5.65)
            .Node("Div", ["a", "scale"], ["y"]).Verify();

    [TestMethod]
    [DataRow(2.0)]
    [DataRow(3.0)]
    [DataRow(0.5)]
    [DataRow(1.0)]
    public void Pow_WithConstantExponent_MatchesCentralDifferences(double exponent) =>
        new GradientCheck().Input("x", [2, 3], low: 0.5, high: 2).Scalar("e", exponent)
            .Node("Pow", ["x", "e"], ["y"]).Verify();

    [TestMethod]
    public void Pow_WithTrainableExponent_DifferentiatesBaseAndExponent() =>
        new GradientCheck().Input("x", [2, 3], low: 0.5, high: 2).Input("e", [3], low: 0.5, high: 2.5)
            .Node("Pow", ["x", "e"], ["y"]).Verify();

    [TestMethod]
    public void Sum_OfThreeBroadcastInputs_MatchesCentralDifferences() =>
        new GradientCheck().Input("a", [2, 3]).Input("b", [3]).Input("c", [2, 1])
            .Node("Sum", ["a", "b", "c"], ["y"]).Verify();

    [TestMethod]
    [DataRow("Max")]
    [DataRow("Min")]
    public void MaxMin_RouteGradientToTheSelectedInput(string op) =>
        new GradientCheck().Input("a", [3, 4]).Input("b", [4])
            .Node(op, ["a", "b"], ["y"]).Verify();

    [TestMethod]
    public void Where_RoutesGradientByCondition_AndReducesBroadcastBranch()
    {
        var condition = new TensorProto { Name = "cond", DataType = (int)TensorProto.Types.DataType.Bool };
        condition.Dims.AddRange([2, 3]);
        condition.RawData = Google.Protobuf.ByteString.CopyFrom([1, 0, 1, 0, 0, 1]);
        new GradientCheck().Initializer(condition).Input("a", [2, 3]).Input("b", [3])
            .Node("Where", ["cond", "a", "b"], ["y"]).Verify();
    }

    [TestMethod]
    public void Add_AtOpset11_UsesAxesAttributes() =>
        new GradientCheck(opset: 11).Input("x", [2, 3, 4], ["batch", 3, 4]).Input("b", [4])
            .Node("Add", ["x", "b"], ["y"]).Verify();

    [TestMethod]
    public void Add_BeforeOpset13WithUnknownRank_ThrowsNamingNodeAndInput()
    {
        var proto = TinyModels.NewModel(opset: 11);
        proto.Graph.Input.Add(GradientCheck.AnyShape("x", (int)TensorProto.Types.DataType.Float));
        proto.Graph.Input.Add(TinyModels.FloatValue("b", 3));
        proto.Graph.Node.Add(TinyModels.Node("Add", ["x", "b"], ["y"], "bias_add"));
        proto.Graph.Node.Add(TinyModels.Node("ReduceSum", ["y"], ["loss"], "loss_sum", Attr.Int("keepdims", 0)));
        var model = OnnxModel.FromProto(proto);

        var error = Assert.ThrowsExactly<DifferentiationException>(() => ReverseDifferentiator.Differentiate(model, "loss", ["b"]));

        StringAssert.Contains(error.Message, "Add node 'bias_add'");
        StringAssert.Contains(error.Message, "input 'b'");
        StringAssert.Contains(error.Message, "opset 11");
        Assert.HasCount(2, model.Graph.Node, "the graph is left unchanged");
    }
}
