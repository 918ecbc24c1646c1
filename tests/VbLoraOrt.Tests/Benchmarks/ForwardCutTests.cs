using Microsoft.ML.OnnxRuntime.Tensors;
using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Bench;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Artifacts;
using VbLoraOrt.GraphBuilder.Tasks;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Artifacts;
using VbLoraOrt.Tests.Contract;
using VbLoraOrt.Tests.OrtTraining;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Benchmarks;

/// <summary>The training graph's forward part cut out for the bench (<see cref="ForwardCut"/>): same loss, no backward, the saved values as outputs.</summary>
[TestClass]
public sealed class ForwardCutTests
{
    static string _dir = null!;

    [ClassInitialize]
    public static void Prepare(TestContext _)
    {
        _dir = Directory.CreateTempSubdirectory("vblora-forward-cut").FullName;
        TinyTransformer.Write(Path.Combine(_dir, "tiny.onnx"), torchStyle: true);
        var descriptor = AdapterMethods.Find("vblora");
        ArtifactBuilder.Prepare(new PrepareOptions
        {
            ModelPath = Path.Combine(_dir, "tiny.onnx"),
            OutputDirectory = Path.Combine(_dir, "artifacts"),
            Method = descriptor.Create(MethodOptionValues.For(descriptor, MethodContractTests.Methods["vblora"].TinyOptions), 42),
            Targets = TargetSpec.FromNames(["query", "value"]),
            Task = new TaskOptions { NumLabels = 2, Pooling = Pooling.Mean },
        });
    }

    [ClassCleanup]
    public static void Delete()
    {
        if (_dir is not null) Directory.Delete(_dir, recursive: true);
    }

    [TestMethod]
    public void Cut_KeepsTheForwardAndTheLoss_AndOutputsWhatTheBackwardReads()
    {
        string artifacts = Path.Combine(_dir, "artifacts");
        var training = OnnxModel.Load(Path.Combine(artifacts, ArtifactNames.TrainingModel));
        var cut = ForwardCut.Of(training);
        string cutPath = Path.Combine(artifacts, "cut.onnx");
        cut.Save(cutPath);

        Assert.IsFalse(cut.Graph.Node.Any(n => n.Name.StartsWith("grad/", StringComparison.Ordinal)), "no backward node");
        var backwardReads = training.Graph.Node.Where(n => n.Name.StartsWith("grad/", StringComparison.Ordinal)).SelectMany(n => n.Input).ToHashSet();
        var forwardMade = cut.Graph.Node.SelectMany(n => n.Output).ToHashSet();
        var outputs = cut.Graph.Output.Select(o => o.Name).ToList();
        CollectionAssert.AreEquivalent(backwardReads.Where(forwardMade.Contains).Append(ArtifactNames.Loss).Distinct().ToList(), outputs);
        Assert.IsTrue(cut.Graph.Output.All(o => o.Type.TensorType.ElemType != 0 && o.Type.TensorType.Shape != null), "every output typed and shaped");

        var manifest = ArtifactManifest.Load(Path.Combine(artifacts, ArtifactNames.Manifest));
        var (ids, mask, labels) = TinyTransformer.Batch(0);
        int[] tokens = [TinyTransformer.BatchSize, TinyTransformer.Sequence];
        var feeds = TrainingGraphComparison.Feeds(manifest, new Dictionary<string, object>
        {
            ["input_ids"] = new DenseTensor<long>(ids, tokens),
            ["attention_mask"] = new DenseTensor<long>(mask, tokens),
        }, labels);
        var inputs = feeds.ToDictionary(f => f.Name, f => f.Value);
        float full = OrtRunner.RunFile(Path.Combine(artifacts, ArtifactNames.TrainingModel), inputs, ArtifactNames.Loss)[ArtifactNames.Loss].GetValue(0);
        float forward = OrtRunner.RunFile(cutPath, inputs, ArtifactNames.Loss)[ArtifactNames.Loss].GetValue(0);
        Assert.AreEqual(full, forward, 1e-6f);
    }
}
