using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Methods.VbLora;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Artifacts;
using VbLoraOrt.GraphBuilder.Tasks;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Contract;
using VbLoraOrt.Tests.OrtTraining;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Artifacts;

/// <summary>
/// Artifacts prepared with a graph option that must not change what is computed, against the same artifacts prepared
/// without it: the same loss, the same gradient of every trainable and the same eval output, on a torch-style tiny
/// encoder for every method and on MiniLM. The options: the base model's LayerNorms as standard
/// <c>LayerNormalization</c> nodes (<see cref="PrepareOptions.StandardOps"/>), the backward shaped for fewer passes
/// (<see cref="PrepareOptions.FusionShapedBackward"/>: softmax's row sums from the product it feeds) and the factors
/// applied to the targets' weights (<see cref="PrepareOptions.AdaptedWeights"/>: <c>x·(W + Aᵀ·Bᵀ)</c>).
/// </summary>
[TestClass]
public sealed class GraphOptionArtifactTests
{
    const string StandardOps = nameof(PrepareOptions.StandardOps), FusionShaped = nameof(PrepareOptions.FusionShapedBackward),
        AdaptedWeights = nameof(PrepareOptions.AdaptedWeights);
    static string _dir = null!;

    public static IEnumerable<object[]> MethodsAndOptions =>
        from method in AdapterMethods.Names from option in new[] { StandardOps, FusionShaped, AdaptedWeights } select new object[] { method, option };

    [ClassInitialize]
    public static void WriteTinyEncoder(TestContext _)
    {
        _dir = Directory.CreateTempSubdirectory("vblora-graph-options").FullName;
        TinyTransformer.Write(Path.Combine(_dir, "torch_style.onnx"), torchStyle: true);
    }

    [ClassCleanup]
    public static void DeleteArtifacts()
    {
        if (_dir is not null) Directory.Delete(_dir, recursive: true);
    }

    // The options with `option` set to `on` and every other at its default.
    static PrepareOptions With(string option, bool on, PrepareOptions options) => new()
    {
        ModelPath = options.ModelPath,
        OutputDirectory = options.OutputDirectory,
        Method = options.Method,
        Targets = options.Targets,
        Task = options.Task,
        StandardOps = option != StandardOps || on,
        FusionShapedBackward = option != FusionShaped || on,
        AdaptedWeights = option != AdaptedWeights || on,
    };

    [TestMethod]
    [DynamicData(nameof(MethodsAndOptions))]
    public void TinyEncoder_TrainingGraph_GivesTheSameLossAndGradients(string method, string option)
    {
        var descriptor = AdapterMethods.Find(method);
        var (on, off) = TrainingGraphComparison.PrepareBoth(_dir, (value, dir) => With(option, value, new PrepareOptions
        {
            ModelPath = Path.Combine(_dir, "torch_style.onnx"),
            OutputDirectory = dir,
            Method = descriptor.Create(MethodOptionValues.For(descriptor, MethodContractTests.Methods[method].TinyOptions), 42),
            Targets = TargetSpec.FromNames(["query", "value"]),
            Task = new TaskOptions { NumLabels = 2, Pooling = Pooling.Mean },
        }));
        var (data, labels) = TinyTransformer.Inputs(0);
        var training = TrainingGraph(on);
        if (option == StandardOps)
        {
            Assert.AreEqual(2, training.Count(n => n.OpType == "LayerNormalization"), "both LayerNorms rewritten");
            Assert.IsFalse(training.Any(n => n.OpType == "Pow"), "no decomposed LayerNorm left");
        }
        else if (option == FusionShaped)
        {
            Assert.IsTrue(ReadsAttentionContext(training) && !ReadsAttentionContext(TrainingGraph(off)), "softmax's row sums from P·V");
            Assert.IsTrue(!MovesKeysBack(training) && MovesKeysBack(TrainingGraph(off)), "the key gradient merged before its swap");
        }
        else
            Assert.IsTrue(AdaptedProducts(training) == 2 && AdaptedProducts(TrainingGraph(off)) == 0, "both targets read their adapted weight");

        TrainingGraphComparison.AssertSameTraining(off, on, data, labels);
    }

    [TestMethod]
    [DataRow(StandardOps)]
    [DataRow(FusionShaped)]
    [DataRow(AdaptedWeights)]
    public void MiniLm_TrainingAndEvalGraphs_GiveTheSameLossGradientsAndLogits(string option)
    {
        var (on, off) = TrainingGraphComparison.PrepareBoth(_dir, (value, dir) => With(option, value, new PrepareOptions
        {
            ModelPath = RealModel.ModelPath,
            OutputDirectory = dir,
            Method = new VbLoraMethod(new VbLoraOptions { NumVectors = 16, VectorLength = 128, Rank = 4, TopK = 2 }),
            Targets = TargetSpec.FromNames(["query", "value"]),
            Task = new TaskOptions { NumLabels = 3, Pooling = Pooling.Mean },
        }));
        var data = RealModel.Batch(RealModel.EightSentences[..4]);
        if (option == StandardOps)
            Assert.AreEqual(13, TrainingGraph(on).Count(n => n.OpType == "LayerNormalization"));
        else if (option == FusionShaped)
            Assert.IsTrue(ReadsAttentionContext(TrainingGraph(on)) && !MovesKeysBack(TrainingGraph(on)) && MovesKeysBack(TrainingGraph(off)),
                "softmax's row sums from P·V; the key gradients merged before their swap");
        else
            Assert.AreEqual(12, AdaptedProducts(TrainingGraph(on)), "every target reads its adapted weight");

        var manifest = TrainingGraphComparison.AssertSameTraining(off, on, data, [0, 2, 1, 2]);
        TrainingGraphComparison.AssertSameLogits(off, on, manifest, data, [0, 2, 1, 2]);
    }

    static IReadOnlyList<global::Onnx.NodeProto> TrainingGraph(string folder) =>
        OnnxModel.Load(Path.Combine(folder, ArtifactNames.TrainingModel)).Graph.Node;

    // A backward Transpose moving the last axis to position 1 (attention's key gradient back to [b, t, h, d]).
    static bool MovesKeysBack(IReadOnlyList<global::Onnx.NodeProto> nodes) =>
        nodes.Any(n => n.OpType == "Transpose" && n.Name.StartsWith("grad/", StringComparison.Ordinal)
            && n.Attribute.Single(a => a.Name == "perm").Ints.SequenceEqual(new long[] { 0, 3, 1, 2 }));

    // Forward products whose weight is an Add's output: targets reading W + Aᵀ·Bᵀ.
    static int AdaptedProducts(IReadOnlyList<global::Onnx.NodeProto> nodes)
    {
        var sums = nodes.Where(n => n.OpType == "Add").Select(n => n.Output[0]).ToHashSet();
        return nodes.Count(n => n.OpType == "MatMul" && !n.Name.StartsWith("grad/", StringComparison.Ordinal) && sums.Contains(n.Input[1]));
    }

    // True when a backward node reads the output of the product P·V that a Softmax's output P feeds.
    static bool ReadsAttentionContext(IReadOnlyList<global::Onnx.NodeProto> nodes)
    {
        var probabilities = nodes.Where(n => n.OpType == "Softmax").Select(n => n.Output[0]).ToHashSet();
        var contexts = nodes.Where(n => n.OpType == "MatMul" && probabilities.Contains(n.Input[0])).Select(n => n.Output[0]).ToHashSet();
        return nodes.Any(n => n.Name.StartsWith("grad/", StringComparison.Ordinal) && n.Input.Any(contexts.Contains));
    }
}
