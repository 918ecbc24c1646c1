using Onnx;
using VbLoraOrt.Differentiation.Shapes;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Differentiation;

/// <summary>Static shape inference: symbolic dims survive the Shape arithmetic of real exports.</summary>
[TestClass]
public sealed class ShapeInferenceTests
{
    static string Dims(TensorFacts facts) => facts.Shape == null ? "?" : string.Join(",", facts.Shape);

    [TestMethod]
    public void Infer_OnMiniLm_KeepsBatchAndSequenceSymbolicThroughEveryLayer()
    {
        var model = OnnxModel.Load(RealModel.ModelPath);
        var facts = ShapeInference.Infer(model, new GraphConstants(model));

        Assert.AreEqual("batch,sequence,384", Dims(facts["last_hidden_state"]));
        var scores = model.Graph.Node.Where(n => n.OpType == "Softmax").Select(n => Dims(facts[n.Output[0]])).Distinct().ToList();
        CollectionAssert.AreEqual(new[] { "batch,12,sequence,sequence" }, scores, "attention probabilities of all six layers");
        var unknown = model.Graph.Node.SelectMany(n => n.Output).Where(o => facts[o].Shape == null || facts[o].Shape!.Any(d => !d.IsStatic && d.Symbol == null)).ToList();
        Assert.IsEmpty(unknown, $"every value's dims are numbers or symbols; unknown: {string.Join(", ", unknown.Take(10))}");
    }

    [TestMethod]
    public void Infer_ReshapeWithInferredDim_CancelsSymbols()
    {
        var proto = TinyModels.NewModel();
        proto.Graph.Input.Add(TinyModels.FloatValue("x", "batch", "seq", 384));
        proto.Graph.Initializer.Add(Tensors.Int64Vector("heads", 0, -1, 12, 32));
        proto.Graph.Node.Add(TinyModels.Node("Reshape", ["x", "heads"], ["y"]));
        var model = OnnxModel.FromProto(proto);

        var facts = ShapeInference.Infer(model, new GraphConstants(model));

        Assert.AreEqual("batch,seq,12,32", Dims(facts["y"]));
    }

    [TestMethod]
    public void Infer_BroadcastOfDistinctSymbols_IsUnknownNotGuessed()
    {
        var proto = TinyModels.NewModel();
        proto.Graph.Input.Add(TinyModels.FloatValue("a", "n", 3));
        proto.Graph.Input.Add(TinyModels.FloatValue("b", "m", 1));
        proto.Graph.Node.Add(TinyModels.Node("Add", ["a", "b"], ["y"]));
        var model = OnnxModel.FromProto(proto);

        var facts = ShapeInference.Infer(model, new GraphConstants(model));

        Assert.AreEqual("?y:0,3", Dims(facts["y"]), "n and m may differ only when one is 1: the result gets a symbol of its own, equal to neither");
    }
}
