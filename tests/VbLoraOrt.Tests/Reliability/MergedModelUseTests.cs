using System.Text.Json;
using VbLoraOrt.Adapters.Files;
using VbLoraOrt.Cli;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Merge;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runner;
using VbLoraOrt.Runtime.Runs;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Reliability;

/// <summary>
/// No silent wrong answer from a trained run's products (DESIGN.md §8): a merged model records the tokenizer settings
/// and maximum length the run trained with and is evaluated with them (not a fixed 128), its vocabulary is written under
/// a name that cannot take over a file already there, a foreign <c>--vocab</c> is refused by hash, and a stored adapter
/// applied to artifacts it does not fit is refused naming what differs. The run trains at 24 tokens on artifacts prepared
/// at 32, so "the run's length" and "the artifacts' length" are told apart.
/// </summary>
[TestClass]
public sealed class MergedModelUseTests
{
    const int RunLength = 24;
    static string _dir = null!, _run = null!, _data = null!, _adapter = null!;

    [ClassInitialize]
    public static void TrainBriefly(TestContext _)
    {
        _dir = PreparedArtifacts.NewFolder("vblora-merged-use");
        _data = PreparedArtifacts.SpamSample(12);
        _run = Path.Combine(_dir, "run");
        _adapter = Path.Combine(_dir, "spam.safetensors");
        var error = new StringWriter();
        int code = RunnerCli.Run(["train", "--artifacts", PreparedArtifacts.Classify, "--train", _data, "--out", _run, "--max-steps", "3",
            "--batch-size", "4", "--max-length", $"{RunLength}", "--lr", "bank=0.01", "--lr", "logits=0.1", "--lr", "head=0.01"], new StringWriter(), error);
        Assert.AreEqual(ExitCodes.Ok, code, error.ToString());
        Assert.AreEqual(ExitCodes.Ok, RunnerCli.Run(["export", "--run", _run, "--adapter", _adapter], new StringWriter(), error), error.ToString());
    }

    [ClassCleanup]
    public static void Delete()
    {
        if (_dir != null && Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
    }

    static string ExportMerged(string path)
    {
        var error = new StringWriter();
        Assert.AreEqual(ExitCodes.Ok, RunnerCli.Run(["export", "--run", _run, "--merged", path], new StringWriter(), error), error.ToString());
        return path;
    }

    static float MaxDifference(EvalResult a, EvalResult b)
    {
        Assert.AreEqual(a.Count, b.Count);
        float max = 0;
        for (int i = 0; i < a.Count; i++)
            for (int c = 0; c < a.Outputs![i].Length; c++)
                max = Math.Max(max, Math.Abs(a.Outputs[i][c] - b.Outputs![i][c]));
        return max;
    }

    [TestMethod]
    public void MergedModel_RecordsTheRunsTokenizer_AndIsEvaluatedAtTheRunsLength()
    {
        string merged = ExportMerged(Path.Combine(PreparedArtifacts.NewFolder("vblora-merged-length"), "spam.onnx"));
        var recorded = MergedModelExporter.ReadTokenizer(OnnxModel.Load(merged))!;
        Assert.AreEqual(RunLength, recorded.MaxLength);
        Assert.IsTrue(recorded.LowerCase, "all-MiniLM-L6-v2's vocabulary is uncased");
        Assert.AreEqual(Hashing.Sha256File(RealModel.VocabPath), recorded.VocabSha256, true);

        var trained = TrainedRun.Open(_run);
        var unmerged = ModelEvaluation.WithParameters(trained.Artifacts, trained.Values, trained.Task, _data, 4, RunLength, keepOutputs: true);
        var byDefault = ModelEvaluation.WithMergedModel(merged, null, _data, 4, keepOutputs: true);
        var longer = ModelEvaluation.WithMergedModel(merged, null, _data, 4, maxLength: 64, keepOutputs: true);

        Assert.IsLessThanOrEqualTo(1e-4f, MaxDifference(unmerged, byDefault), "by default the merged model reads what the run trained on");
        Assert.IsGreaterThan(1e-3f, MaxDifference(byDefault, longer), "--max-length takes effect (the emails are longer than 24 tokens)");
    }

    [TestMethod]
    public void ExportMerged_BesideAForeignVocabulary_LeavesItAndWritesItsOwnUnderAnotherName()
    {
        string dir = PreparedArtifacts.NewFolder("vblora-merged-vocab");
        File.WriteAllLines(Path.Combine(dir, "vocab.txt"), ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello"]);
        File.WriteAllText(Path.Combine(dir, "spam.vocab.txt"), "someone else's file");
        byte[] foreign = File.ReadAllBytes(Path.Combine(dir, "vocab.txt")), taken = File.ReadAllBytes(Path.Combine(dir, "spam.vocab.txt"));

        string merged = ExportMerged(Path.Combine(dir, "spam.onnx"));

        CollectionAssert.AreEqual(foreign, File.ReadAllBytes(Path.Combine(dir, "vocab.txt")));
        CollectionAssert.AreEqual(taken, File.ReadAllBytes(Path.Combine(dir, "spam.vocab.txt")));
        string own = MergedModelExporter.ReadTokenizer(OnnxModel.Load(merged))!.VocabFile;
        StringAssert.StartsWith(own, "spam.vocab.");
        Assert.AreNotEqual("spam.vocab.txt", own);
        CollectionAssert.AreEqual(File.ReadAllBytes(RealModel.VocabPath), File.ReadAllBytes(Path.Combine(dir, own)));

        var elsewhere = ExportMerged(Path.Combine(PreparedArtifacts.NewFolder("vblora-merged-clean"), "spam.onnx"));
        Assert.AreEqual(0f, MaxDifference(ModelEvaluation.WithMergedModel(elsewhere, null, _data, 4, keepOutputs: true),
            ModelEvaluation.WithMergedModel(merged, null, _data, 4, keepOutputs: true)), "the foreign vocab.txt is not read");
    }

    [TestMethod]
    public void Eval_WithAVocabularyTheModelWasNotTrainedWith_IsRefusedNamingIt()
    {
        string dir = PreparedArtifacts.NewFolder("vblora-merged-foreign-vocab");
        string merged = ExportMerged(Path.Combine(dir, "spam.onnx"));
        string foreign = Path.Combine(dir, "cased.txt");
        File.WriteAllLines(foreign, File.ReadLines(RealModel.VocabPath).Select((t, i) => i == 2000 ? "Hello" : t));
        var error = new StringWriter();

        int code = RunnerCli.Run(["eval", "--model", merged, "--vocab", foreign, "--data", _data], new StringWriter(), error);

        Assert.AreEqual(ExitCodes.BadInput, code, error.ToString());
        StringAssert.Contains(error.ToString(), "cased.txt");
        StringAssert.Contains(error.ToString(), "SHA-256");
    }

    [TestMethod]
    public void EvalAdapter_OnArtifactsOfAnotherTask_IsRefusedNamingTheTask()
    {
        var error = new StringWriter();

        int code = RunnerCli.Run(["eval", "--artifacts", PreparedArtifacts.Embed, "--adapter", _adapter, "--data", _data], new StringWriter(), error);

        Assert.AreEqual(ExitCodes.BadInput, code, error.ToString());
        StringAssert.Contains(error.ToString(), "task differs (adapter: classify; artifacts: embed)");
    }

    [TestMethod]
    public void Compatibility_NamesEachKindOfDifference()
    {
        var adapter = AdapterFile.Load(_adapter);
        var manifest = ArtifactManifest.Load(Path.Combine(PreparedArtifacts.Classify, ArtifactNames.Manifest));
        Assert.IsNull(AdapterCompatibility.Difference(adapter, manifest), "the adapter fits the artifacts it was trained with");

        string What(StoredAdapter changed) => AdapterCompatibility.Difference(changed, manifest)?.What ?? "(fits)";
        var firstTarget = adapter.Targets[0];
        Assert.AreEqual("base model", What(adapter with { BaseModel = adapter.BaseModel with { Sha256 = new string('0', 64) } }));
        Assert.AreEqual("method", What(adapter with { Method = "lora" }));
        Assert.AreEqual("method option 'topK'", What(adapter with { MethodOptions = WithOption(adapter.MethodOptions, "topK", 3) }));
        Assert.AreEqual("(fits)", What(adapter with { MethodOptions = WithOption(adapter.MethodOptions, "seed", 7) }), "the initial-value seed does not change a trained adapter");
        Assert.AreEqual("target 1", What(adapter with { Targets = [firstTarget with { OutFeatures = firstTarget.OutFeatures + 1 }, .. adapter.Targets.Skip(1)] }));
        Assert.AreEqual("number of targets", What(adapter with { Targets = adapter.Targets.Take(adapter.Targets.Count - 1).ToList() }));
        Assert.AreEqual("task", What(adapter with { Task = adapter.Task with { Kind = TaskKind.Embed } }));
        Assert.AreEqual("label count", What(adapter with { Task = adapter.Task with { NumLabels = 3 } }));
        Assert.AreEqual("pooling", What(adapter with { Task = adapter.Task with { Pooling = Pooling.Cls } }));
    }

    static JsonElement WithOption(JsonElement options, string name, int value)
    {
        var copy = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(options.GetRawText())!;
        Assert.IsTrue(copy.ContainsKey(name), $"the stored options have '{name}': {options.GetRawText()}");
        copy[name] = JsonSerializer.SerializeToElement(value);
        return JsonSerializer.SerializeToElement(copy);
    }
}
