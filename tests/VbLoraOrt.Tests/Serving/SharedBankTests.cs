using System.Security.Cryptography;
using Microsoft.ML.OnnxRuntime;
using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Files;
using VbLoraOrt.Adapters.Methods.VbLora;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.Contracts.Runs;
using VbLoraOrt.GraphBuilder.Artifacts;
using VbLoraOrt.GraphBuilder.Merge;
using VbLoraOrt.GraphBuilder.Serving;
using VbLoraOrt.GraphBuilder.Tasks;
using VbLoraOrt.Onnx;
using VbLoraOrt.OrtFormats.Adapters;
using VbLoraOrt.Runtime.Runs;
using VbLoraOrt.Tests.Contract;
using VbLoraOrt.Tests.Differentiation;
using VbLoraOrt.Tests.OnnxAdapters;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Serving;

/// <summary>
/// VB-LoRA with a frozen shared bank (DESIGN.md §2.2) on the tiny encoder: a first run's adapter file gives the bank;
/// artifacts prepared with it train only logits and head, adapter files hold only the top-k, and merging, serving and
/// evaluation take the bank from the artifacts and refuse another one.
/// </summary>
[TestClass]
public sealed class SharedBankTests
{
    const int H = 6, Bl = 4, R = 2, K = 2;
    static readonly long[][] Ids = [[2, 5, 6, 3], [2, 7, 8, 9, 10, 3], [2, 11, 3]];

    static string _root = null!, _bankSource = null!, _shared = null!, _otherBankShared = null!;
    static ArtifactManifest _manifest = null!;
    static float[] _sourceBank = null!;

    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static void PrepareOnce(TestContext _)
    {
        _root = PreparedArtifacts.NewFolder("vblora-shared-bank");
        string model = Path.Combine(_root, "tiny.onnx"), vocab = Path.Combine(_root, "vocab.txt");
        TinyServing.Encoder().Save(model);
        File.WriteAllLines(vocab, TinyServing.VocabularyLines);

        // A first run with a bank of its own; its adapter file is what a user passes as --frozen-bank.
        var first = Prepare(model, vocab, "first", frozenBank: null);
        _bankSource = Path.Combine(_root, "first.safetensors");
        AdapterFile.Save(_bankSource, first, TrainedLooking(first, seed: 1));
        _sourceBank = SafetensorsFile.Read(_bankSource).Tensors.Single(t => t.Name == VbLoraNames.StoredVectorBank).Floats();
        _manifest = Prepare(model, vocab, "shared", _bankSource);
        _shared = Path.Combine(_root, "shared");

        // Another bank of the same shape, for the refusals.
        string otherBank = Path.Combine(_root, "other_bank.safetensors");
        SharedBank.Of(TinyModels.Random(H * Bl, 77, 0.5f), H, Bl).Write(otherBank);
        Prepare(model, vocab, "other", otherBank);
        _otherBankShared = Path.Combine(_root, "other");
    }

    [ClassCleanup]
    public static void Cleanup() => Directory.Delete(_root, recursive: true);

    static ArtifactManifest Prepare(string model, string vocab, string name, string? frozenBank)
    {
        var options = new Dictionary<string, object?>(MethodContractTests.Methods["vblora"].TinyOptions);
        if (frozenBank != null)
            options["frozen-bank"] = frozenBank;
        return ArtifactBuilder.Prepare(new PrepareOptions
        {
            ModelPath = model,
            OutputDirectory = Path.Combine(_root, name),
            Method = VbLoraDescriptor.Instance.Create(MethodOptionValues.For(VbLoraDescriptor.Instance, options), 42),
            Targets = TargetSpec.FromNames(["layer1", "layer2"]),
            Task = new TaskOptions { NumLabels = TinyServing.Labels, Pooling = Pooling.Mean },
            VocabPath = vocab,
            MaxLength = 16,
        });
    }

    // Well-separated logits (no top-k ties) and a head far from zero.
    static Dictionary<string, float[]> TrainedLooking(ArtifactManifest manifest, int seed) =>
        manifest.Trainables.ToDictionary(t => t.Name, t => new SeededRandom(seed, t.Name).Normal(t.ElementCount, 1.0));

    [TestMethod]
    public void PrepareFormatOrt_WithFrozenBank_TrainsOnlyLogitsAndHead_WithTheBankAConstant()
    {
        string outDir = Path.Combine(_root, "ort-shared");
        var (output, error) = (new StringWriter(), new StringWriter());
        int code = VbLoraOrt.GraphBuilder.Cli.GraphCli.Run(["prepare", "--model", Path.Combine(_root, "tiny.onnx"), "--vocab", Path.Combine(_root, "vocab.txt"),
            "--method", "vblora", "--num-vectors", $"{H}", "--vector-length", $"{Bl}", "--rank", $"{R}", "--topk", $"{K}", "--frozen-bank", _bankSource,
            "--targets", "layer1,layer2", "--num-labels", $"{TinyServing.Labels}", "--pooling", "mean", "--format", "ort", "--out", outDir], output, error);

        Assert.AreEqual(0, code, output.ToString() + error);
        var manifest = ArtifactManifest.Load(Path.Combine(outDir, ArtifactNames.Manifest));
        var checkpoint = VbLoraOrt.OrtFormats.Checkpoints.OrtCheckpointReader.Read(
            Path.Combine(outDir, VbLoraOrt.GraphBuilder.OrtTraining.OrtTrainingNames.Folder, VbLoraOrt.GraphBuilder.OrtTraining.OrtTrainingNames.CheckpointFile));
        CollectionAssert.AreEquivalent(manifest.Trainables.Select(t => t.Name).ToArray(), checkpoint.TrainableParameters.Select(p => p.Name).ToArray(),
            "ONNX Runtime trains exactly the manifest's trainables");
        Assert.IsFalse(manifest.Trainables.Any(t => t.Group == VbLoraNames.BankGroup), "the bank is no trainable");
        Assert.IsTrue(manifest.Trainables.Any(t => t.Group == VbLoraNames.LogitsGroup), "the logits train");
        var training = OnnxModel.Load(Path.Combine(outDir, VbLoraOrt.GraphBuilder.OrtTraining.OrtTrainingNames.Folder,
            VbLoraOrt.GraphBuilder.OrtTraining.OrtTrainingNames.TrainingModel)).Graph;
        Assert.IsTrue(training.Initializer.Any(t => t.DataType == (int)global::Onnx.TensorProto.Types.DataType.Float
            && t.RawData.Length == _sourceBank.Length * sizeof(float)
            && System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(t.RawData.Span).SequenceEqual(_sourceBank)),
            "the frozen bank is a constant of ONNX Runtime's training model, equal to the given file's");
        Assert.IsTrue(File.Exists(Path.Combine(outDir, SharedBank.FileName)), "the bank is kept beside the artifacts");
        ArtifactFolder.Open(outDir); // the runner accepts the folder
    }

    [TestMethod]
    public void Prepare_WithFrozenBank_MakesTheBankAConstantNamedByItsHash()
    {
        string expectedSha = Convert.ToHexStringLower(SHA256.HashData(
            SafetensorsFile.Read(_bankSource).Tensors.Single(t => t.Name == VbLoraNames.StoredVectorBank).Data));
        var training = OnnxModel.Load(Path.Combine(_shared, ArtifactNames.TrainingModel));

        Assert.IsFalse(_manifest.Trainables.Any(t => t.Group == VbLoraNames.BankGroup), "the bank is no trainable");
        CollectionAssert.AreEquivalent(new[] { VbLoraNames.LogitsGroup, ParameterGroups.Head }, _manifest.Trainables.Select(t => t.Group).Distinct().ToArray());
        Assert.IsFalse(training.Graph.Input.Any(i => i.Name.Contains("vector_bank", StringComparison.Ordinal)), "no bank input");
        Assert.IsFalse(training.Graph.Output.Any(o => o.Name.Contains("vector_bank", StringComparison.Ordinal)), "no bank gradient");
        var constant = training.Graph.Initializer.Where(t => t.Dims.SequenceEqual(new long[] { H, Bl })).ToList();
        Assert.HasCount(1, constant, "one [h, b] initializer: the frozen bank");
        CollectionAssert.AreEqual(_sourceBank, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(constant[0].RawData.Span).ToArray());
        Assert.AreEqual(expectedSha, _manifest.MethodOptions.GetProperty("sharedBankSha256").GetString());
        Assert.IsTrue(_manifest.Files!.ContainsKey(SharedBank.FileName), "the bank file is listed (and hashed) in the manifest");
        long subVectors = _manifest.Targets.Sum(t => (long)R * (t.InFeatures / Bl) + (long)(t.OutFeatures / Bl) * R);
        Assert.AreEqual(subVectors * (K - 1 + K / 4.0), _manifest.Counts.AdapterStored, "stored: top-k only, no bank");
    }

    [TestMethod]
    public void Train_WithFrozenBank_ChangesTheLogitsAndLeavesTheBankBitIdentical()
    {
        string data = Path.Combine(_root, "train.jsonl");
        File.WriteAllLines(data, Enumerable.Range(0, 12).Select(i =>
            $"{{\"text\": \"{TinyServing.Words[i % 15]} {TinyServing.Words[(i * 7 + 3) % 15]}\", \"label\": \"{new[] { "ham", "spam", "other" }[i % 3]}\"}}"));
        string run = Path.Combine(_root, "run");
        byte[] bankFileBefore = File.ReadAllBytes(Path.Combine(_shared, SharedBank.FileName));

        TrainingRun.Start(new TrainOptions
        {
            Artifacts = _shared, TrainFile = data, Out = run, MaxSteps = 6, BatchSize = 4, MaxLength = 16,
            LearningRates = new() { [VbLoraNames.LogitsGroup] = 1e-1f, [ParameterGroups.Head] = 1e-2f },
        }, new BriefRun.Quiet());

        var initial = Checkpoint.Load(Path.Combine(_shared, ArtifactNames.InitialCheckpoint), _manifest.Identity);
        var trained = Checkpoint.Load(Path.Combine(run, RunLayout.Checkpoint), _manifest.Identity);
        Assert.IsFalse(trained.Tensors.Any(t => t.Name.Contains("vector_bank", StringComparison.Ordinal)), "the checkpoint holds no bank");
        float moved = _manifest.Trainables.Where(t => t.Group == VbLoraNames.LogitsGroup)
            .Max(t => initial.Find(t.Name)!.Values.Zip(trained.Find(t.Name)!.Values, (a, b) => Math.Abs(a - b)).Max());
        Assert.IsGreaterThan(1e-3f, moved, "training moved the logits");
        CollectionAssert.AreEqual(bankFileBefore, File.ReadAllBytes(Path.Combine(_shared, SharedBank.FileName)));
        var training = OnnxModel.Load(Path.Combine(_shared, ArtifactNames.TrainingModel));
        CollectionAssert.AreEqual(_sourceBank, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(
            training.Graph.Initializer.Single(t => t.Dims.SequenceEqual(new long[] { H, Bl })).RawData.Span).ToArray());
    }

    [TestMethod]
    public void LogitsGradient_ThroughFrozenBank_MatchesFiniteDifferences()
    {
        var method = VbLoraMethod.WithFrozenBank(new VbLoraOptions { NumVectors = H, VectorLength = Bl, Rank = R, TopK = K },
            SharedBank.Of(_sourceBank, H, Bl));
        var plan = method.Plan(_manifest.Targets);
        var check = new GradientCheck(useDouble: false);
        foreach (var p in plan.Parameters)
        {
            // Each row of h logits a shuffle of 0, 0.4, 0.8…: gaps of 0.4, far beyond the difference step.
            var random = new Random(p.Name.Length);
            var values = Enumerable.Range(0, (int)(p.ElementCount / H))
                .SelectMany(_ => Enumerable.Range(0, H).Select(i => 0.4 * i).OrderBy(_ => random.Next())).ToArray();
            check.Input(p.Name, p.Shape.Select(d => (int)d).ToArray(), values);
        }
        var factors = method.EmitFactors(plan, new GraphEmitter(check.Graph, "adapter"));
        check.LossOf([.. factors.SelectMany(f => new[] { f.A, f.B })]);

        var backward = check.Verify();

        Assert.IsFalse(backward.DifferentiatedValues.Any(v => check.Graph.Initializer.Any(t => t.Name == v)), "the frozen bank gets no gradient");
    }

    [TestMethod]
    public void Merge_OfSharedBankAdapterFile_EqualsTheUnmergedEvalGraph()
    {
        var (adapterPath, values) = SaveAdapter("merge", seed: 3);
        var adapter = AdapterFile.Load(adapterPath);
        string merged = Path.Combine(_root, "merge", "merged.onnx");

        MergedModelExporter.Export(_shared, adapter, merged);

        var feeds = EvalFeeds(values);
        var fromEval = OrtRunner.RunFile(Path.Combine(_shared, ArtifactNames.EvalModel), feeds, ArtifactNames.Logits)[ArtifactNames.Logits];
        var fromMerged = OrtRunner.RunFile(merged, feeds.Where(kv => kv.Key is "input_ids" or "attention_mask").ToDictionary(), ArtifactNames.Logits)[ArtifactNames.Logits];
        float diff = OrtRunner.MaxAbsDiff(fromEval, fromMerged);
        TestContext.WriteLine($"max |merged - eval graph| = {diff:g3}");
        Assert.IsLessThanOrEqualTo(1e-4f, diff);
    }

    [TestMethod]
    public void AdapterFile_OfSharedBankRun_HoldsOnlyTopKAndHeadAndNamesTheBank()
    {
        var (path, _) = SaveAdapter("file", seed: 4);
        var keys = SafetensorsFile.Read(path).Tensors.Select(t => t.Name).ToList();
        long withBank = new FileInfo(_bankSource).Length, shared = new FileInfo(path).Length;
        TestContext.WriteLine($"adapter file: {shared} B with the shared bank named by hash, {withBank} B with its own bank");

        Assert.DoesNotContain(VbLoraNames.StoredVectorBank, keys);
        Assert.IsTrue(keys.All(k => k.EndsWith("_topk_indices", StringComparison.Ordinal) || k.EndsWith("_topk_weights", StringComparison.Ordinal) || k.StartsWith("head.", StringComparison.Ordinal)),
            string.Join(", ", keys));
        Assert.AreEqual(withBank - H * Bl * 4, shared, 200, "the file shrinks by the bank's bytes (metadata differs only by the hash)");
        Assert.AreEqual(_manifest.MethodOptions.GetProperty("sharedBankSha256").GetString(),
            AdapterFile.Load(path).MethodOptions.GetProperty("sharedBankSha256").GetString());
    }

    [TestMethod]
    public void Merge_WithAnotherBank_IsRefusedNamingBothBanks()
    {
        var (path, _) = SaveAdapter("wrong", seed: 5);
        var adapter = AdapterFile.Load(path);
        string other = SharedBank.Read(Path.Combine(_otherBankShared, SharedBank.FileName)).Sha256;
        string own = adapter.MethodOptions.GetProperty("sharedBankSha256").GetString()!;

        var e = Assert.ThrowsExactly<BadInputException>(() => MergedModelExporter.Export(_otherBankShared, adapter, Path.Combine(_root, "wrong", "m.onnx")));
        StringAssert.Contains(e.Message, other[..12]);
        StringAssert.Contains(e.Message, own[..12]);
        var difference = AdapterCompatibility.Difference(adapter, ArtifactManifest.Load(Path.Combine(_otherBankShared, ArtifactNames.Manifest)));
        Assert.AreEqual("method option 'sharedBankSha256'", difference?.What, "eval --adapter refuses it too");
        var noBank = Assert.ThrowsExactly<BadInputException>(() =>
            MergedModelExporter.ExportWithBaseModel(Path.Combine(_root, "tiny.onnx"), adapter, Path.Combine(_root, "wrong", "b.onnx")));
        StringAssert.Contains(noBank.Message, "frozen shared bank");
        Assert.IsFalse(File.Exists(Path.Combine(_root, "wrong", "m.onnx")) || File.Exists(Path.Combine(_root, "wrong", "b.onnx")), "nothing written");
    }

    [TestMethod]
    public void ServingModel_TakesTheBankAsInitializer_AndGivesTheMergedModelsLogits()
    {
        var values = TrainedLooking(_manifest, seed: 6);
        string folder = Path.Combine(_root, "serving");
        var servingManifest = ServingExporter.Export(_shared, _manifest with { Task = TinyServing.Task }, folder);
        string adapterPath = Path.Combine(_root, "user.onnx_adapter");
        long size = ServingAdapter.Write(adapterPath, ServingAdapter.Create(_manifest, values));
        string merged = Path.Combine(_root, "serving-merged.onnx");
        MergedModelExporter.Export(_shared, _manifest, values, merged);

        Assert.DoesNotContain(VbLoraNames.StoredVectorBank, servingManifest.AdapterInputs.ToList());
        Assert.IsFalse(OnnxAdapterFile.Read(adapterPath).Parameters.Any(p => p.Name.Contains("vector_bank", StringComparison.Ordinal)));
        using var session = OrtLoraAdapterTests.NewSession(OnnxModel.Load(Path.Combine(folder, ServingManifest.ModelFileName)));
        using var adapter = OrtLoraAdapter.Create(adapterPath, null);
        using var options = new RunOptions();
        options.AddActiveLoraAdapter(adapter);
        float[] fromServing = TinyServing.Logits(session, options, Ids);
        using var mergedSession = OrtLoraAdapterTests.NewSession(OnnxModel.Load(merged));
        using var plain = new RunOptions();
        float diff = TinyServing.MaxAbsDiff(TinyServing.Logits(mergedSession, plain, Ids), fromServing);
        TestContext.WriteLine($".onnx_adapter with the shared bank: {size} B; max |serving - merged| = {diff:g3}");
        Assert.IsLessThanOrEqualTo(1e-4f, diff);
    }

    [TestMethod]
    public void ServingSession_RefusesAnAdapterOfAnotherBank_AndServesTheOthers()
    {
        var otherManifest = ArtifactManifest.Load(Path.Combine(_otherBankShared, ArtifactNames.Manifest));
        string folder = Path.Combine(_root, "serving-other");
        ServingExporter.Export(_otherBankShared, otherManifest with { Task = TinyServing.Task }, folder);
        string ours = Path.Combine(_root, "ours.onnx_adapter"), theirs = Path.Combine(_root, "theirs.onnx_adapter");
        ServingAdapter.Write(ours, ServingAdapter.Create(_manifest, TrainedLooking(_manifest, seed: 7)));
        ServingAdapter.Write(theirs, ServingAdapter.Create(otherManifest, TrainedLooking(otherManifest, seed: 7)));
        using var session = VbLoraOrt.Runtime.Serving.ServingSession.Open(folder);

        var e = Assert.ThrowsExactly<OnnxAdapterException>(() => session.Load("ours", ours));
        session.Load("theirs", theirs);
        float[][] logits = session.Run("theirs", ["hello world", "free cruise"]);

        StringAssert.Contains(e.Message, "model_version");
        StringAssert.Contains(e.Message, "another bank");
        Assert.IsFalse(session.Adapters.ContainsKey("ours"));
        Assert.HasCount(2, logits);
        Assert.AreEqual(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, OrtEnv.Instance().EnvLogLevel, "ONNX Runtime's warnings stay out of a server's output");
        Assert.AreEqual(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, session.Adapters["theirs"].Options.LogSeverityLevel);
    }

    (string Path, Dictionary<string, float[]> Values) SaveAdapter(string folder, int seed)
    {
        var values = TrainedLooking(_manifest, seed);
        Directory.CreateDirectory(Path.Combine(_root, folder));
        string path = Path.Combine(_root, folder, "adapter.safetensors");
        AdapterFile.Save(path, _manifest, values);
        return (path, values);
    }

    static Dictionary<string, object> EvalFeeds(IReadOnlyDictionary<string, float[]> values)
    {
        var (names, ort) = TinyServing.Feeds(Ids);
        var feeds = new Dictionary<string, object>();
        for (int i = 0; i < names.Length; i++)
        {
            var shape = ort[i].GetTensorTypeAndShape().Shape.Select(d => (int)d).ToArray();
            feeds[names[i]] = new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(ort[i].GetTensorDataAsSpan<long>().ToArray(), shape);
            ort[i].Dispose();
        }
        foreach (var t in _manifest.Trainables)
            feeds[t.Name] = new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(values[t.Name], t.Shape.Select(d => (int)d).ToArray());
        return feeds;
    }
}
