using Microsoft.ML.OnnxRuntime.Tensors;
using VbLoraOrt.Adapters.Files;
using VbLoraOrt.Adapters.Methods.VbLora;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Merge;
using VbLoraOrt.GraphBuilder.Tasks;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.AdapterFiles;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Merge;

/// <summary>
/// The merged inference model of a MiniLM artifact folder: adapter folded into the weights, trained head appended,
/// checked against the eval model on the eight real sentences.
/// </summary>
[TestClass]
public sealed class MergedModelExporterTests
{
    public TestContext TestContext { get; set; } = null!;

    static MiniLmArtifacts _artifacts = null!;
    static Dictionary<string, float[]> _trained = null!;
    static string _adapterPath = null!;

    [ClassInitialize]
    public static void Initialize(TestContext _)
    {
        _artifacts = MiniLmArtifacts.Prepare();
        _trained = MiniLmArtifacts.TrainedLooking(_artifacts.Manifest);
        _adapterPath = Path.Combine(_artifacts.Directory, "adapter.safetensors");
        AdapterFile.Save(_adapterPath, _artifacts.Manifest, _trained);
    }

    [ClassCleanup]
    public static void Cleanup() => _artifacts.Dispose();

    static string OutPath(string name) => _artifacts.NewPath(name);

    Tensor<float> EvalLogits(IReadOnlyDictionary<string, float[]> values) =>
        OrtRunner.RunFile(_artifacts.EvalModelPath, _artifacts.EvalInputs(values), ArtifactNames.Logits)[ArtifactNames.Logits];

    static Tensor<float> MergedLogits(string path) =>
        OrtRunner.RunFile(path, RealModel.Batch(RealModel.EightSentences), ArtifactNames.Logits)[ArtifactNames.Logits];

    static int[] Argmax(Tensor<float> logits)
    {
        int rows = logits.Dimensions[0], labels = logits.Dimensions[1];
        return Enumerable.Range(0, rows).Select(r => Enumerable.Range(0, labels).MaxBy(c => logits[r, c])).ToArray();
    }

    [TestMethod]
    public void Export_FromStoredAdapter_MatchesEvalModelWithStoredAndWithTrainedParameters()
    {
        var adapter = AdapterFile.Load(_adapterPath);
        string merged = OutPath("merged.onnx");

        MergedModelExporter.Export(_artifacts.Directory, adapter, merged);

        var fromMerged = MergedLogits(merged);
        var fromStored = EvalLogits(adapter.Parameters);           // −∞ logits off the top-k
        var fromTrained = EvalLogits(_trained);                     // the full trained logits
        var untrained = _trained.ToDictionary();
        untrained[VbLoraNames.VectorBank] = new float[untrained[VbLoraNames.VectorBank].Length];
        var withoutAdapter = EvalLogits(untrained);

        float mergedVsStored = OrtRunner.MaxAbsDiff(fromStored, fromMerged), storedVsTrained = OrtRunner.MaxAbsDiff(fromTrained, fromStored);
        float adapterEffect = OrtRunner.MaxAbsDiff(withoutAdapter, fromTrained);
        TestContext.WriteLine($"max |eval(stored) - merged| = {mergedVsStored:g3}; max |eval(trained) - eval(stored)| = {storedVsTrained:g3}; adapter effect {adapterEffect:g3}");
        Assert.IsLessThanOrEqualTo(1e-4f, mergedVsStored, "merged model = eval model fed the stored adapter");
        Assert.IsLessThanOrEqualTo(1e-4f, storedVsTrained, "stored form = trained logits");
        Assert.IsGreaterThan(1e-2f, adapterEffect, "the adapter changes the logits noticeably");
        CollectionAssert.AreEqual(Argmax(fromTrained), Argmax(fromMerged), "same predictions");
        CollectionAssert.AreEqual(new[] { RealModel.EightSentences.Length, MiniLmArtifacts.Labels }, fromMerged.Dimensions.ToArray());
    }

    [TestMethod]
    public void Export_FromTrainedValues_MatchesEvalModel()
    {
        string merged = OutPath("merged.onnx");

        MergedModelExporter.Export(_artifacts.Directory, _artifacts.Manifest, _trained, merged);

        float diff = OrtRunner.MaxAbsDiff(EvalLogits(_trained), MergedLogits(merged));
        TestContext.WriteLine($"max |eval(trained) - merged(trained)| = {diff:g3}");
        Assert.IsLessThanOrEqualTo(1e-4f, diff);
    }

    [TestMethod]
    public void Export_MergedModel_HasBaseNodesPlusOnlyTheHeadAndOwnDataFile()
    {
        string merged = OutPath("fine-tuned.onnx");

        MergedModelExporter.Export(_artifacts.Directory, AdapterFile.Load(_adapterPath), merged);

        var baseModel = OnnxModel.Load(Path.Combine(_artifacts.Directory, ArtifactNames.BaseModel));
        var reference = baseModel.Clone();
        TaskHead.Append(reference, new TaskOptions { NumLabels = MiniLmArtifacts.Labels }, _artifacts.Manifest.BaseModel.OutputName,
            "attention_mask", _artifacts.Manifest.BaseModel.HiddenSize, withLoss: false, headAsInputs: false, seed: 0);
        var model = OnnxModel.Load(merged);
        var nodes = model.Graph.Node.Select(n => n.ToString()).ToList();
        CollectionAssert.AreEqual(reference.Graph.Node.Select(n => n.ToString()).ToList(), nodes, "base nodes, then the head's");
        CollectionAssert.AreEqual(baseModel.Graph.Node.Select(n => n.ToString()).ToList(), nodes.Take(baseModel.Graph.Node.Count).ToList());
        CollectionAssert.AreEqual(new[] { "last_hidden_state", "924", ArtifactNames.Logits }, model.Graph.Output.Select(o => o.Name).ToArray(), "base outputs + logits");
        var dataFiles = Directory.GetFiles(Path.GetDirectoryName(merged)!, "fine-tuned.*.data").Select(Path.GetFileName).ToList();
        Assert.HasCount(1, dataFiles, "tensors in <name>.<content hash>.data beside the model");
        Assert.IsFalse(model.Graph.Initializer.Any(t => t.ExternalData.Any(e => e.Key == "location" && e.Value != dataFiles[0])),
            "no reference back into the artifact folder");
    }

    [TestMethod]
    public void ExportWithBaseModel_OnOriginalExport_EqualsExportFromArtifacts()
    {
        var adapter = AdapterFile.Load(_adapterPath);
        string fromArtifacts = OutPath("a.onnx"), fromOriginal = OutPath("b.onnx");

        MergedModelExporter.Export(_artifacts.Directory, adapter, fromArtifacts);
        MergedModelExporter.ExportWithBaseModel(RealModel.ModelPath, adapter, fromOriginal);

        Assert.IsLessThanOrEqualTo(1e-6f, OrtRunner.MaxAbsDiff(MergedLogits(fromArtifacts), MergedLogits(fromOriginal)), "same weights, same graph");
    }

    [TestMethod]
    public void ExportWithBaseModel_WhenAnotherModel_ThrowsNamingAdapterAndModel()
    {
        var adapter = AdapterFile.Load(_adapterPath);
        string other = OutPath("other.onnx");
        File.WriteAllBytes(other, OnnxModel.FromProto(TinyModels.TwoLayerMlp().Proto).ToBytesInline());

        var e = Assert.ThrowsExactly<BadInputException>(() => MergedModelExporter.ExportWithBaseModel(other, adapter, OutPath("m.onnx")));
        StringAssert.Contains(e.Message, _adapterPath);
        StringAssert.Contains(e.Message, other);
    }
}
