using VbLoraOrt.Adapters.Methods.Lora;
using VbLoraOrt.Adapters.Methods.VbLora;
using VbLoraOrt.Adapters.Peft;
using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.GraphBuilder.Artifacts;
using VbLoraOrt.GraphBuilder.Merge;
using VbLoraOrt.OrtFormats.Adapters;
using VbLoraOrt.Runner;
using VbLoraOrt.Runtime.Runs;
using VbLoraOrt.Tests.OrtTraining;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Interchange;

/// <summary>
/// PEFT directories as inputs of <c>vblora-run</c> on a tiny encoder's artifacts: <c>eval --artifacts --peft</c>,
/// <c>export --from-peft</c> and <c>train --init-from-peft</c>. References: the run the directory was exported from
/// (its adapter file, its own <c>.onnx_adapter</c>, a run started from its values), and for a directory written by hand
/// as PEFT writes it, the model <c>vblora-graph merge</c> makes of it.
/// </summary>
[TestClass]
public sealed class PeftRunnerTests
{
    static readonly string[] Words = ["cheap", "offer", "win", "cash", "meeting", "lunch", "report", "notes", "free", "today", "team", "call", "prize", "agenda", "now"];
    const int MaxLength = 6;
    static string _dir = null!, _model = null!, _vocab = null!, _vbLora = null!, _lora = null!, _data = null!, _run = null!;
    static string _full = null!, _topK = null!;

    [ClassInitialize]
    public static void Prepare(TestContext _)
    {
        _dir = Directory.CreateTempSubdirectory("vblora-peft-runner").FullName;
        _model = Path.Combine(_dir, "tiny_encoder.onnx");
        _vocab = Path.Combine(_dir, "vocab.txt");
        TinyTransformer.Write(_model);
        File.WriteAllLines(_vocab, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", .. Words]);
        _vbLora = PrepareArtifacts("vblora", new VbLoraMethod(new VbLoraOptions { NumVectors = 6, VectorLength = 4, Rank = 2, TopK = 2 }));
        _lora = PrepareArtifacts("lora", new LoraMethod(new LoraOptions { Rank = 2, Alpha = 4 }));
        _data = Path.Combine(_dir, "train.jsonl");
        var rng = new Random(3);
        File.WriteAllLines(_data, Enumerable.Range(0, 12).Select(i =>
            $"{{\"text\": \"{string.Join(' ', Enumerable.Range(0, 2 + i % 3).Select(_ => Words[rng.Next(Words.Length)]))}\", \"label\": {i % 2}}}"));
        _run = Path.Combine(_dir, "run");
        Ok(["train", "--artifacts", _vbLora, "--train", _data, "--out", _run, "--max-steps", "3", "--batch-size", "4", "--threads", "1", "--lr", "logits=0.5"]);
        _full = Path.Combine(_dir, "peft-full");
        _topK = Path.Combine(_dir, "peft-topk");
        Ok(["export", "--run", _run, "--peft", _full]);
        Ok(["export", "--run", _run, "--peft", _topK, "--peft-topk-only"]);
    }

    [ClassCleanup]
    public static void Delete()
    {
        if (_dir is not null) Directory.Delete(_dir, recursive: true);
    }

    static string PrepareArtifacts(string name, VbLoraOrt.Adapters.IAdapterMethod method)
    {
        string dir = Path.Combine(_dir, $"artifacts-{name}");
        ArtifactBuilder.Prepare(new PrepareOptions
        {
            ModelPath = _model, OutputDirectory = dir, Method = method, Targets = TargetSpec.FromNames(["query", "value"]), VocabPath = _vocab, MaxLength = MaxLength,
        });
        return dir;
    }

    static int Run(string[] args, out string output)
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        int code = RunnerCli.Run(args, stdout, stderr);
        output = stdout.ToString() + stderr;
        return code;
    }

    static string Ok(string[] args)
    {
        Assert.AreEqual(0, Run(args, out string output), output);
        return output;
    }

    static string Fresh(string name) => Path.Combine(_dir, $"{name}-{Guid.NewGuid():N}");

    [TestMethod]
    public void EvalPeft_BothVbLoraForms_GiveTheMetricsOfTheRunsAdapterFile()
    {
        string adapter = Fresh("adapter") + ".safetensors";
        Ok(["export", "--run", _run, "--adapter", adapter]);
        string reference = Ok(["eval", "--artifacts", _vbLora, "--adapter", adapter, "--data", _data]);
        StringAssert.Contains(reference, "12 examples");
        Assert.AreEqual(reference, Ok(["eval", "--artifacts", _vbLora, "--peft", _full, "--data", _data]), "full logits");
        Assert.AreEqual(reference, Ok(["eval", "--artifacts", _vbLora, "--peft", _topK, "--data", _data]), "top-k form");
    }

    [TestMethod]
    public void EvalPeft_DirectoryWrittenAsPeftWritesIt_EqualsTheModelMergeMakesOfIt()
    {
        string peft = Fresh("peft-by-hand");
        WriteLoraByHand(peft, withHead: true);
        var folder = ArtifactFolder.Open(_lora);
        var adapter = PeftRuns.LoadForEvaluation(peft, folder);
        var viaArtifacts = ModelEvaluation.WithParameters(folder, adapter.Parameters, adapter.Task, _data, batchSize: 4, MaxLength);
        string merged = Fresh("merged") + ".onnx";
        PeftMerge.Run(_model, peft, merged, new PeftHeadOptions(Pooling.Cls));
        var viaMerge = ModelEvaluation.WithMergedModel(merged, _vocab, _data, batchSize: 4, MaxLength);

        Assert.AreEqual(12, viaArtifacts.Count);
        Assert.AreEqual(viaMerge.Accuracy, viaArtifacts.Accuracy);
        Assert.AreEqual(viaMerge.Loss, viaArtifacts.Loss, 1e-5 * Math.Max(1, Math.Abs(viaMerge.Loss)), "loss through the eval graph vs the merged model");
        var zeroed = new Dictionary<string, float[]>(adapter.Parameters);
        foreach (var (name, value) in folder.Method.ZeroUpdate(folder.Plan, folder.Plan.Parameters.ToDictionary(p => p.Name, p => adapter.Parameters[p.Name])))
            zeroed[name] = value;
        var zero = ModelEvaluation.WithParameters(folder, zeroed, adapter.Task, _data, 4, MaxLength);
        Assert.AreNotEqual(zero.Loss, viaArtifacts.Loss, 1e-4, "the adapter changes the loss, so the comparison tests it");
    }

    [TestMethod]
    public void ExportFromPeft_OnnxAdapter_IsTheRunsOwn_ForBothVbLoraForms()
    {
        string own = Fresh("own") + ".onnx_adapter";
        Ok(["export", "--run", _run, "--onnx-adapter", own]);
        var expected = OnnxAdapterFile.Read(own);
        foreach (string peft in new[] { _full, _topK })
        {
            string fromPeft = Fresh("from-peft") + ".onnx_adapter";
            Ok(["export", "--from-peft", peft, "--artifacts", _vbLora, "--onnx-adapter", fromPeft]);
            var actual = OnnxAdapterFile.Read(fromPeft);
            CollectionAssert.AreEqual(expected.Parameters.Select(p => p.Name).ToArray(), actual.Parameters.Select(p => p.Name).ToArray(), peft);
            foreach (var (e, a) in expected.Parameters.Zip(actual.Parameters))
            {
                Assert.AreEqual(e.DataType, a.DataType, e.Name);
                CollectionAssert.AreEqual(e.Dims.ToArray(), a.Dims.ToArray(), e.Name);
                if (e.DataType == 1)                                                    // ONNX FLOAT
                    Assert.IsLessThanOrEqualTo(1e-6f, e.ToArray<float>().Zip(a.ToArray<float>(), (x, y) => Math.Abs(x - y)).Max(), $"{peft}: {e.Name}");
                else
                    CollectionAssert.AreEqual(e.Data.ToArray(), a.Data.ToArray(), $"{peft}: {e.Name}");
            }
        }
    }

    [TestMethod]
    public void ExportFromPeft_AdapterFileAndMergedModel_AreTheRunsOwn_ForBothVbLoraForms()
    {
        string own = Fresh("own") + ".safetensors";
        Ok(["export", "--run", _run, "--adapter", own]);
        var expected = SafetensorsFile.Read(own).Tensors;
        foreach (string peft in new[] { _full, _topK })
        {
            string adapter = Fresh("from-peft") + ".safetensors", merged = Path.Combine(Fresh("merged"), "m.onnx");
            Ok(["export", "--from-peft", peft, "--artifacts", _vbLora, "--adapter", adapter, "--merged", merged]);
            var actual = SafetensorsFile.Read(adapter).Tensors;
            CollectionAssert.AreEqual(expected.Select(t => t.Name).ToArray(), actual.Select(t => t.Name).ToArray(), peft);
            foreach (var (e, a) in expected.Zip(actual))
            {
                Assert.AreEqual(e.DType, a.DType, e.Name);
                if (e.DType == "F32")
                    Assert.IsLessThanOrEqualTo(1e-6f, e.Floats().Zip(a.Floats(), (x, y) => Math.Abs(x - y)).Max(), $"{peft}: {e.Name}");
                else
                    CollectionAssert.AreEqual(e.Data, a.Data, $"{peft}: {e.Name}");
            }
            Assert.IsTrue(File.Exists(merged), merged);
        }
    }

    [TestMethod]
    public void TrainInitFromPeft_ContinuesFromTheDirectorysValues()
    {
        string fromPeft = Fresh("from-peft-run");
        Ok(["train", "--artifacts", _vbLora, "--train", _data, "--out", fromPeft, "--max-steps", "2", "--batch-size", "4", "--threads", "1", "--init-from-peft", _full]);
        // The reference: a run started from the trained run's values in the project's own format, at step 0.
        var folder = ArtifactFolder.Open(_vbLora);
        var trained = Checkpoint.Load(new RunFolder(_run).CheckpointPath, folder.Identity);
        var names = folder.Manifest.Trainables.Select(t => t.Name).ToHashSet();
        var start = new Checkpoint(folder.Identity, 0, new DataLoaderPosition(0, 0, 42), trained.Tensors.Where(t => names.Contains(t.Name)).ToList());
        var options = new TrainOptions { Artifacts = _vbLora, TrainFile = _data, Out = Fresh("reference-run"), MaxSteps = 2, BatchSize = 4, Threads = 1 };
        TrainingRun.Start(options, new Silent(), startFrom: _ => start);

        var actual = Checkpoint.Load(new RunFolder(fromPeft).CheckpointPath, folder.Identity);
        var reference = Checkpoint.Load(new RunFolder(options.Out).CheckpointPath, folder.Identity);
        Assert.AreEqual(2L, actual.Step);
        foreach (var t in reference.Tensors)
            CollectionAssert.AreEqual(t.Values, actual.Find(t.Name)!.Values, t.Name);
        var initial = Checkpoint.Load(folder.InitialCheckpoint, folder.Identity);
        CollectionAssert.AreNotEqual(initial.Find(VbLoraNames.VectorBank)!.Values, start.Find(VbLoraNames.VectorBank)!.Values, "the directory's values are not the initial ones");
    }

    [TestMethod]
    public void TrainInitFromPeft_TopKOnlyForm_IsRefusedNamingIt_AndLeavesNoRun()
    {
        string run = Fresh("refused-run");
        Assert.AreEqual(1, Run(["train", "--artifacts", _vbLora, "--train", _data, "--out", run, "--max-steps", "1", "--init-from-peft", _topK], out string log), log);
        StringAssert.Contains(log, "save_only_topk_weights");
        Assert.IsFalse(Directory.Exists(run), "nothing written");
    }

    [TestMethod]
    public void PeftDirectoryThatDoesNotFitTheArtifacts_IsRefusedNamingWhatDiffers()
    {
        string otherTopK = Fresh("peft-topk1");
        Directory.CreateDirectory(otherTopK);
        File.Copy(Path.Combine(_full, PeftKeys.WeightsFileName), Path.Combine(otherTopK, PeftKeys.WeightsFileName));
        string config = File.ReadAllText(Path.Combine(_full, PeftKeys.ConfigFileName));
        Assert.Contains("\"topk\": 2", config);
        File.WriteAllText(Path.Combine(otherTopK, PeftKeys.ConfigFileName), config.Replace("\"topk\": 2", "\"topk\": 1"));
        Assert.AreEqual(1, Run(["eval", "--artifacts", _vbLora, "--peft", otherTopK, "--data", _data], out string log), log);
        StringAssert.Contains(log.ToLowerInvariant(), "method option 'topk' differs (adapter: 1; artifacts: 2)");

        string lora = Fresh("peft-lora");
        WriteLoraByHand(lora, withHead: true);
        Assert.AreEqual(1, Run(["export", "--from-peft", lora, "--artifacts", _vbLora, "--onnx-adapter", Fresh("x") + ".onnx_adapter"], out log), log);
        StringAssert.Contains(log, "method differs (adapter: lora; artifacts: vblora)");

        string headless = Fresh("peft-headless");
        WriteLoraByHand(headless, withHead: false);
        Assert.AreEqual(1, Run(["eval", "--artifacts", _lora, "--peft", headless, "--data", _data], out log), log);
        StringAssert.Contains(log, "no classifier head");
        Assert.AreEqual(2, Run(["eval", "--peft", _full, "--data", _data], out log), log);
        StringAssert.Contains(log, "--artifacts");
    }

    // LoRA r 2, α 4 on query and value, as PEFT's save_pretrained writes it for BertForSequenceClassification-like
    // module paths (under "encoder."): no metadata of ours, PEFT's defaults left out where PEFT would fill them in.
    static void WriteLoraByHand(string directory, bool withHead)
    {
        string modules = withHead ? "[\"classifier\", \"score\"]" : "null";
        string config = $$"""
            {
              "lora_alpha": 4,
              "modules_to_save": {{modules}},
              "peft_type": "LORA",
              "r": 2,
              "target_modules": ["query", "value"],
              "task_type": "SEQ_CLS"
            }
            """;
        var tensors = new List<SafeTensor>();
        int seed = 70;
        foreach (string module in new[] { "query", "value" })
        {
            string path = $"base_model.model.encoder.layer.0.attention.self.{module}";
            tensors.Add(SafeTensor.F32($"{path}.lora_A.weight", [2, TinyTransformer.Hidden], TinyModels.Random(2 * TinyTransformer.Hidden, seed++, 0.5f)));
            tensors.Add(SafeTensor.F32($"{path}.lora_B.weight", [TinyTransformer.Hidden, 2], TinyModels.Random(2 * TinyTransformer.Hidden, seed++, 0.5f)));
        }
        if (withHead)
        {
            tensors.Add(SafeTensor.F32("base_model.model.classifier.weight", [2, TinyTransformer.Hidden], TinyModels.Random(2 * TinyTransformer.Hidden, seed++)));
            tensors.Add(SafeTensor.F32("base_model.model.classifier.bias", [2], TinyModels.Random(2, seed++)));
        }
        PeftHandWritten.Write(directory, config, tensors);
    }

    sealed class Silent : ITrainingObserver
    {
        public void Started(RunPlan plan) { }
        public void Stepped(StepReport report) { }
        public void Evaluated(int epoch, long step, EvalResult result) { }
        public void Message(string text) { }
    }
}
