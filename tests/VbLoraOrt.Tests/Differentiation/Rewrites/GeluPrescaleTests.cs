using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using VbLoraOrt.Differentiation.Rewrites;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Differentiation.Rewrites;

/// <summary>The exact GELU's 1/√2 moved into the weight and bias of the product before it: when, and that it computes the same.</summary>
[TestClass]
public sealed class GeluPrescaleTests
{
    const int In = 4, Mid = 8, Out = 3;

    // x [2, 3, 4] · W1 + b1 → torch's exact GELU (Div by √2, Erf, +1, ·h, ·½) → · W2 → y; `tweak` changes the graph.
    static OnnxModel TorchFeedForward(string scaleOp = "Div", Action<GraphProto>? tweak = null)
    {
        var m = TinyModels.NewModel(13);
        var g = m.Graph;
        g.Input.Add(TinyModels.FloatValue("x", "batch", 3, In));
        g.Output.Add(TinyModels.FloatValue("y", "batch", 3, Out));
        g.Initializer.Add(Tensors.Float("w1", [In, Mid], TinyModels.Random(In * Mid, 1, 0.8f)));
        g.Initializer.Add(Tensors.Float("b1", [Mid], TinyModels.Random(Mid, 2, 0.5f)));
        g.Initializer.Add(Tensors.Float("w2", [Mid, Out], TinyModels.Random(Mid * Out, 3, 0.8f)));
        g.Initializer.Add(Tensors.Float("c", [], [scaleOp == "Div" ? 1.4142135381698608f : 0.7071067690849304f]));
        g.Initializer.Add(Tensors.Float("one", [], [1f]));
        g.Initializer.Add(Tensors.Float("half", [], [0.5f]));
        void Node(string op, string[] inputs, string output) => g.Node.Add(TinyModels.Node(op, inputs, [output]));
        Node("MatMul", ["x", "w1"], "p");
        Node("Add", ["b1", "p"], "h");
        Node(scaleOp, ["h", "c"], "u");
        Node("Erf", ["u"], "e");
        Node("Add", ["e", "one"], "a");
        Node("Mul", ["h", "a"], "z");
        Node("Mul", ["z", "half"], "zh");
        Node("MatMul", ["zh", "w2"], "y");
        tweak?.Invoke(g);
        return OnnxModel.FromProto(m);
    }

    static Dictionary<string, object> Input() =>
        new() { ["x"] = new DenseTensor<float>(TinyModels.Random(2 * 3 * In, 7, 2f), [2, 3, In]) };

    [TestMethod]
    [DataRow("Div")]
    [DataRow("Mul")]
    public void Apply_WhenTorchGeluAfterABiasedProduct_MovesTheScaleIntoWeightAndBias(string scaleOp)
    {
        var model = TorchFeedForward(scaleOp);
        var expected = OrtRunner.Run(model, Input(), "y")["y"];

        var result = StandardOpRewriter.Apply(model, statistics: false);

        Assert.AreEqual(1, result.PrescaledGelus);
        var nodes = model.Graph.Node;
        Assert.IsFalse(nodes.Any(n => n.OpType is "Div" or "Mul" && n.Input.Contains("h")), "no pass over the activations divides by √2");
        var erf = nodes.Single(n => n.OpType == "Erf");
        var add = nodes.Single(n => n.Output[0] == erf.Input[0]);
        Assert.AreEqual("Add", add.OpType, "erf reads the biased product directly");
        var product = nodes.Single(n => n.OpType == "MatMul" && n.Input[0] == "x");
        Assert.AreEqual("Div", nodes.Single(n => n.Output[0] == product.Input[1]).OpType, "W / c, folded by ONNX Runtime at load");
        Assert.IsLessThanOrEqualTo(1e-5f, OrtRunner.MaxAbsDiff(expected, OrtRunner.Run(model, Input(), "y")["y"]));
    }

    [TestMethod]
    public void Apply_WhenTheGeluHasNoScaleAfterIt_MultipliesByCAfterTheProduct()
    {
        // z feeds the next product directly: c is applied by a Mul after z' = u·a.
        var model = TorchFeedForward(tweak: g =>
        {
            g.Node.Remove(g.Node.Single(n => n.Output[0] == "zh"));
            g.Node.Single(n => n.Output[0] == "y").Input[0] = "z";
        });
        var expected = OrtRunner.Run(model, Input(), "y")["y"];

        Assert.AreEqual(1, StandardOpRewriter.Apply(model, statistics: false).PrescaledGelus);
        Assert.AreEqual("Mul", model.Graph.Node.Single(n => n.Output[0] == "z").OpType);
        Assert.IsLessThanOrEqualTo(1e-5f, OrtRunner.MaxAbsDiff(expected, OrtRunner.Run(model, Input(), "y")["y"]));
    }

    [TestMethod]
    public void Apply_WhenThePreActivationIsReadElsewhere_LeavesTheGeluAlone()
    {
        var model = TorchFeedForward(tweak: g => g.Output.Add(TinyModels.FloatValue("h", "batch", 3, Mid)));

        Assert.AreEqual(0, StandardOpRewriter.Apply(model, statistics: false).PrescaledGelus);
        Assert.IsTrue(model.Graph.Node.Any(n => n.OpType == "Div" && n.Input[0] == "h"));
    }

    [TestMethod]
    public void Apply_WhenTheBiasIsNotAConstant_LeavesTheGeluAlone()
    {
        var model = TorchFeedForward(tweak: g =>
        {
            g.Initializer.Remove(g.Initializer.Single(t => t.Name == "b1"));
            g.Input.Add(TinyModels.FloatValue("b1", Mid));
        });

        Assert.AreEqual(0, StandardOpRewriter.Apply(model, statistics: false).PrescaledGelus);
    }
}
