using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Discovery;
using VbLoraOrt.Adapters.Merging;
using VbLoraOrt.Adapters.Methods.VbLora;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Adapters;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Merge;

[TestClass]
public sealed class AdapterMergerTests
{
    const float Tolerance = 1e-5f;
    static readonly VbLoraMethod Small = new(new VbLoraOptions { NumVectors = 6, VectorLength = 4, Rank = 3, TopK = 2 });

    /// <summary>Injects trained-looking values, merges them, and returns (base, adapted, merged).</summary>
    static (OnnxModel Base, OnnxModel Adapted, OnnxModel Merged) AdaptAndMerge(OnnxModel baseModel, LinearModule[] targets)
    {
        var plan = Small.Plan(targets);
        var values = AdapterFixtures.TrainedLooking(plan);
        var adapted = AdapterInjector.InjectWithInitializers(baseModel, Small, targets, values).Model;
        var merged = AdapterMerger.Merge(baseModel, Small.ComputeFactors(plan, values));
        return (baseModel, adapted, merged);
    }

    static string[] NodeSignatures(GraphProto g) =>
        g.Node.Select(n => $"{n.OpType}({string.Join(",", n.Input)})->({string.Join(",", n.Output)}) {n.Attribute}").ToArray();

    static string[] InitializerShapes(GraphProto g) =>
        g.Initializer.Select(t => $"{t.Name}:[{string.Join(",", t.Dims)}]:{t.DataType}").ToArray();

    [TestMethod]
    public void Merge_WhenAdapterTrained_MatchesAdapterOutput()
    {
        var (_, adapted, merged) = AdaptAndMerge(TinyModels.TwoLayerMlp(8, 16, 8), AdapterFixtures.MlpTargets(8, 16, 8));

        var input = AdapterFixtures.Input(6, 8);
        float diff = OrtRunner.MaxAbsDiff(OrtRunner.Run(adapted, input)["y"], OrtRunner.Run(merged, input)["y"]);
        Assert.IsLessThanOrEqualTo(Tolerance, diff);
    }

    [TestMethod]
    public void Merge_KeepsBaseNodesInputsOutputsAndInitializerShapes()
    {
        var (baseModel, _, merged) = AdaptAndMerge(TinyModels.TwoLayerMlp(8, 16, 8), AdapterFixtures.MlpTargets(8, 16, 8));

        CollectionAssert.AreEqual(NodeSignatures(baseModel.Graph), NodeSignatures(merged.Graph));
        CollectionAssert.AreEqual(InitializerShapes(baseModel.Graph), InitializerShapes(merged.Graph));
        Assert.AreEqual(baseModel.Graph.Input.ToString(), merged.Graph.Input.ToString());
        Assert.AreEqual(baseModel.Graph.Output.ToString(), merged.Graph.Output.ToString());
        CollectionAssert.AreNotEqual(
            baseModel.Tensors.ReadFloats(baseModel.Graph.Initializer.Single(t => t.Name == "101")),
            merged.Tensors.ReadFloats(merged.Graph.Initializer.Single(t => t.Name == "101")), "the weight changed");
    }

    [TestMethod]
    public void Merge_WhenGemmTransB_FoldsBTimesAIntoOutInWeight()
    {
        var (baseModel, adapted, merged) = AdaptAndMerge(AdapterFixtures.GemmTransB(8, 4), [AdapterFixtures.GemmTarget(8, 4)]);

        var input = AdapterFixtures.Input(5, 8);
        var fromAdapted = OrtRunner.Run(adapted, input);
        var fromMerged = OrtRunner.Run(merged, input);
        Assert.IsLessThanOrEqualTo(Tolerance, OrtRunner.MaxAbsDiff(fromAdapted["g"], fromMerged["g"]));
        Assert.IsLessThanOrEqualTo(Tolerance, OrtRunner.MaxAbsDiff(fromAdapted["t"], fromMerged["t"]));
        CollectionAssert.AreEqual(NodeSignatures(baseModel.Graph), NodeSignatures(merged.Graph));
        CollectionAssert.AreEqual(InitializerShapes(baseModel.Graph), InitializerShapes(merged.Graph));
    }

    [TestMethod]
    public void Merge_WhenWeightShared_CopiesItForTheAdaptedNodeOnly()
    {
        OnnxModel baseModel = AdapterFixtures.SharedWeight(8);
        var first = AdapterFixtures.SharedWeightFirst(8);

        var (_, adapted, merged) = AdaptAndMerge(baseModel, [first]);

        var input = AdapterFixtures.Input(4, 8);
        Assert.IsLessThanOrEqualTo(Tolerance, OrtRunner.MaxAbsDiff(OrtRunner.Run(adapted, input)["y"], OrtRunner.Run(merged, input)["y"]),
            "the second MatMul still reads the original weight, as in the adapted model");
        var original = baseModel.Tensors.ReadFloats(baseModel.Graph.Initializer.Single(t => t.Name == "77"));
        CollectionAssert.AreEqual(original, merged.Tensors.ReadFloats(merged.Graph.Initializer.Single(t => t.Name == "77")), "shared weight unchanged");
        Assert.AreEqual("77", merged.Graph.Node.Single(n => n.Name == "MatMul_2").Input[1]);
        string copy = merged.Graph.Node.Single(n => n.Name == "MatMul_0").Input[1];
        Assert.AreEqual("first.weight", copy);
        CollectionAssert.AreEqual(new long[] { 8, 8 }, merged.Graph.Initializer.Single(t => t.Name == copy).Dims.ToArray());
        CollectionAssert.AreEqual(baseModel.Graph.Node.Select(n => n.OpType).ToArray(), merged.Graph.Node.Select(n => n.OpType).ToArray(),
            "same nodes and ops");
    }

    [TestMethod]
    public void Merge_WhenEveryReaderOfASharedWeightIsATarget_MergesEachIntoItsOwnWeight()
    {
        OnnxModel baseModel = AdapterFixtures.SharedWeight(8);

        var (_, adapted, merged) = AdaptAndMerge(baseModel, [AdapterFixtures.SharedWeightFirst(8), AdapterFixtures.SharedWeightSecond(8)]);

        var input = AdapterFixtures.Input(4, 8);
        Assert.IsLessThanOrEqualTo(Tolerance, OrtRunner.MaxAbsDiff(OrtRunner.Run(adapted, input)["y"], OrtRunner.Run(merged, input)["y"]));
        Assert.AreEqual(baseModel.Graph.Initializer.Count + 1, merged.Graph.Initializer.Count, "one copy; the last reader merges in place");
    }

    [TestMethod]
    public void Merge_WhenEmbeddingIsTiedThroughTranspose_CopiesItForTheProjectionOnly()
    {
        OnnxModel baseModel = AdapterFixtures.TiedEmbedding(vocab: 8, dim: 4);
        var projection = LinearModuleFinder.Find(baseModel).Single();
        Assert.AreEqual(("MatMul", WeightLayout.OutIn, "embed.weight"), (projection.OpType, projection.Layout, projection.WeightName));

        var (_, adapted, merged) = AdaptAndMerge(baseModel, [projection]);

        var ids = new Dictionary<string, object> { ["ids"] = new DenseTensor<long>(new long[] { 0, 3, 7, 1, 5, 2 }, [2, 3]) };
        Assert.IsLessThanOrEqualTo(Tolerance, OrtRunner.MaxAbsDiff(OrtRunner.Run(adapted, ids)["logits"], OrtRunner.Run(merged, ids)["logits"]));
        Assert.AreEqual("embed.weight", merged.Graph.Node.Single(n => n.OpType == "Gather").Input[0], "the embedding lookup keeps the original");
        string copy = merged.Graph.Node.Single(n => n.OpType == "Transpose").Input[0];
        Assert.AreNotEqual("embed.weight", copy, "the projection reads a merged copy");
        CollectionAssert.AreEqual(baseModel.Tensors.ReadFloats(baseModel.Graph.Initializer.Single()),
            merged.Tensors.ReadFloats(merged.Graph.Initializer.Single(t => t.Name == "embed.weight")));
    }

    [TestMethod]
    public void Merge_WhenOneTargetFeedsAnother_MatchesAdapterOutput()
    {
        // x → MatMul 201 → h → MatMul 202 → y: the second target reads the first target's adapted output.
        var m = TinyModels.NewModel();
        m.Graph.Input.Add(TinyModels.FloatValue("x", "batch", 8));
        m.Graph.Output.Add(TinyModels.FloatValue("y", "batch", 8));
        m.Graph.Initializer.Add(Tensors.Float("201", [8, 8], TinyModels.Random(64, 41, 0.5f)));
        m.Graph.Initializer.Add(Tensors.Float("202", [8, 8], TinyModels.Random(64, 42, 0.5f)));
        m.Graph.Node.Add(TinyModels.Node("MatMul", ["x", "201"], ["h"], "MatMul_0"));
        m.Graph.Node.Add(TinyModels.Node("MatMul", ["h", "202"], ["y"], "MatMul_1"));
        OnnxModel baseModel = OnnxModel.FromProto(m);
        var targets = LinearModuleFinder.Find(baseModel).ToArray();
        Assert.AreEqual(targets[0].OutputName, targets[1].InputName);

        var (_, adapted, merged) = AdaptAndMerge(baseModel, targets);

        var input = AdapterFixtures.Input(4, 8);
        Assert.IsTrue(AdapterFixtures.IsTopologicallySorted(adapted.Graph));
        Assert.IsLessThanOrEqualTo(Tolerance, OrtRunner.MaxAbsDiff(OrtRunner.Run(adapted, input)["y"], OrtRunner.Run(merged, input)["y"]));
    }

    [TestMethod]
    public void Merge_WhenNodeDoesNotReadTheWeight_ThrowsNamingModule()
    {
        var plan = Small.Plan(AdapterFixtures.MlpTargets(8, 16, 8));
        var factors = Small.ComputeFactors(plan, AdapterFixtures.TrainedLooking(plan));
        var wrong = factors.Select(f => f with { Module = f.Module with { WeightName = "999" } }).ToArray();

        var e = Assert.ThrowsExactly<AdapterException>(() => AdapterMerger.Merge(TinyModels.TwoLayerMlp(8, 16, 8), wrong));

        StringAssert.StartsWith(e.Message, "layer1: node 'MatMul_0' (MatMul) does not read weight '999'");
    }
}
