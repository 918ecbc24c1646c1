using System.Text;
using System.Text.Json.Nodes;
using VbLoraOrt.Adapters.Files;
using VbLoraOrt.Cli;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runner;
using VbLoraOrt.Runtime.Runs;
using VbLoraOrt.Runtime.Text;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Reliability;

/// <summary>The fixes the file fuzzing and the kill test called for, one specification each.</summary>
[TestClass]
public sealed class InputHardeningTests
{
    static string NewFile(string name, byte[] bytes)
    {
        string path = Path.Combine(PreparedArtifacts.NewFolder("vblora-hardening"), name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    // A copy of the small artifacts' manifest with `edit` applied, in a folder holding the files the manifest needs.
    static string EditedManifestFolder(Action<JsonObject> edit)
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(PreparedArtifacts.Classify, ArtifactNames.Manifest)))!.AsObject();
        edit(json);
        string dir = PreparedArtifacts.NewFolder("vblora-hardening-manifest");
        File.WriteAllText(Path.Combine(dir, ArtifactNames.Manifest), json.ToJsonString());
        foreach (string file in new[] { ArtifactNames.TrainingModel, ArtifactNames.EvalModel, ArtifactNames.OptimizerModel, ArtifactNames.InitialCheckpoint })
            File.WriteAllBytes(Path.Combine(dir, file), []);
        return dir;
    }

    [TestMethod]
    public void AdapterFile_WhenHeaderIsNotUtf8_IsRefusedNamingFile()
    {
        byte[] json = [.. "{\"a"u8, 0xFF, .. "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}"u8];
        string path = NewFile("bad.safetensors", [.. BitConverter.GetBytes((ulong)json.Length), .. json, 0, 0, 0, 0]);

        var e = Assert.ThrowsExactly<BadInputException>(() => AdapterFile.Load(path));

        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "UTF-8");
    }

    [TestMethod]
    public void Manifest_WhenVocabFileLeavesTheFolder_IsRefused()
    {
        string dir = EditedManifestFolder(m => m["tokenizer"]!["vocabFile"] = "../../etc/passwd");

        var e = Assert.ThrowsExactly<BadInputException>(() => ArtifactFolder.Open(dir));

        StringAssert.Contains(e.Message, ArtifactNames.Manifest);
        StringAssert.Contains(e.Message, "plain file names");
    }

    [TestMethod]
    public void Manifest_WhenTrainablesAreNull_IsRefusedNamingFile()
    {
        string dir = EditedManifestFolder(m => m["trainables"] = null);

        var e = Assert.ThrowsExactly<BadInputException>(() => ArtifactFolder.Open(dir));

        StringAssert.Contains(e.Message, Path.Combine(dir, ArtifactNames.Manifest));
    }

    [TestMethod]
    public void Manifest_WhenTargetsDoNotPlanItsTrainables_IsRefused()
    {
        string dir = EditedManifestFolder(m => m["targets"]!.AsArray().RemoveAt(0));

        var e = Assert.ThrowsExactly<BadInputException>(() => ArtifactFolder.Open(dir));

        StringAssert.Contains(e.Message, "does not plan");
    }

    [TestMethod]
    public void Vocab_WhenASpecialTokenIsMissing_IsRefusedNamingFileAndToken()
    {
        string path = NewFile("vocab.txt", Encoding.UTF8.GetBytes("[PAD]\n[CLS]\n[SEP]\n[MASK]\nthe\n"));

        var e = Assert.ThrowsExactly<BadInputException>(() => BertTextTokenizer.Load(path));

        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "[UNK]");
    }

    [TestMethod]
    public void Vocab_WhenNotUtf8_IsRefusedNamingFile()
    {
        string path = NewFile("vocab.txt", [.. "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n"u8, 0xC3, 0x28, (byte)'\n']);

        var e = Assert.ThrowsExactly<BadInputException>(() => BertTextTokenizer.Load(path));

        StringAssert.Contains(e.Message, "UTF-8");
    }

    [TestMethod]
    public void Resume_WhenKilledBeforeTheFirstCheckpoint_StartsFromTheInitialStateLikeAStraightRun()
    {
        string data = PreparedArtifacts.SpamSample(8);
        string straight = PreparedArtifacts.NewFolder("vblora-run"), early = PreparedArtifacts.NewFolder("vblora-run");
        var options = new TrainOptions { Artifacts = PreparedArtifacts.Classify, TrainFile = data, Out = straight, MaxSteps = 3, BatchSize = 2, MaxLength = 16, Threads = 1 };
        TrainingRun.Start(options, new NullObserver());
        new RunFolder(early).SaveOptions(new TrainOptions
        {
            Artifacts = options.Artifacts, TrainFile = data, Out = early, MaxSteps = 3, BatchSize = 2, MaxLength = 16, Threads = 1,
        }); // what a run killed right after writing run.json leaves
        File.WriteAllBytes(new RunFolder(early).CheckpointPath + ".123.abc.tmp", [1, 2, 3]); // and a torn checkpoint write

        var summary = TrainingRun.Resume(early, new NullObserver());

        Assert.AreEqual(3, summary.Steps);
        string id = ArtifactFolder.Open(PreparedArtifacts.Classify).Identity;
        var expected = Checkpoint.Load(new RunFolder(straight).CheckpointPath, id);
        var actual = Checkpoint.Load(new RunFolder(early).CheckpointPath, id);
        foreach (var (x, y) in expected.Tensors.Zip(actual.Tensors))
            CollectionAssert.AreEqual(x.Values, y.Values, x.Name);
        Assert.IsEmpty(Directory.GetFiles(early, "*.tmp"));
    }

    [TestMethod]
    public void RunOptions_WhenEditedToNullArtifacts_AreRefusedAsBadInput()
    {
        string dir = PreparedArtifacts.NewFolder("vblora-run");
        File.WriteAllText(new RunFolder(dir).OptionsPath, "{\"artifacts\": null, \"trainFile\": \"t.jsonl\", \"out\": \"x\"}");

        var e = Assert.ThrowsExactly<BadInputException>(() => TrainingRun.Resume(dir, new NullObserver()));

        StringAssert.Contains(e.Message, "run.json");
    }

    [TestMethod]
    public void Save_WithNameByContent_LeavesThePreviousPairUsableUntilTheModelIsReplaced()
    {
        string dir = PreparedArtifacts.NewFolder("vblora-pair");
        string path = Path.Combine(dir, "m.onnx");
        var options = new ExternalDataOptions { FileName = "m.data", ThresholdBytes = 64, ShareExistingFiles = false, NameByContent = true };
        TinyModels.TwoLayerMlp().Save(path, options);
        byte[] oldModel = File.ReadAllBytes(path);
        var changed = TinyModels.TwoLayerMlp();
        changed.Graph.Initializer[0] = Tensors.Float("101", [4, 8], TinyModels.Random(32, seed: 99, 0.5f));

        changed.Save(path, options);
        File.WriteAllBytes(path, oldModel); // as if the process died after the data file, before the model

        Assert.HasCount(2, Directory.GetFiles(dir, "m.*.data"), "each content has its own data file");
        var old = OnnxModel.Load(path);
        CollectionAssert.AreEqual(TinyModels.Random(32, 1, 0.5f), old.Tensors.ReadFloats(old.Graph.Initializer[0]), "the old model still reads its own weights");
    }

    [TestMethod]
    public void TrainCli_WhenCheckpointTensorHasAnotherShape_ExitsBadInputNamingTheFile()
    {
        string data = PreparedArtifacts.SpamSample(8), run = PreparedArtifacts.NewFolder("vblora-run");
        var options = new TrainOptions { Artifacts = PreparedArtifacts.Classify, TrainFile = data, Out = run, MaxSteps = 1, BatchSize = 2, MaxLength = 16, Threads = 1 };
        TrainingRun.Start(options, new NullObserver());
        var saved = Checkpoint.Load(new RunFolder(run).CheckpointPath, null);
        var reshaped = saved.Tensors.Select((t, i) => i == 0 ? t with { Shape = [t.Values.Length] } : t).ToList();
        new Checkpoint(saved.ArtifactsId, saved.Step, saved.Position, reshaped).Save(new RunFolder(run).CheckpointPath);
        var error = new StringWriter();

        int code = VbLoraOrt.Runner.RunnerCli.Run(["train", "--resume", run], new StringWriter(), error);

        Assert.AreEqual(VbLoraOrt.Cli.ExitCodes.BadInput, code, error.ToString());
        StringAssert.Contains(error.ToString(), new RunFolder(run).CheckpointPath);
        StringAssert.Contains(error.ToString(), "has shape");
    }

    sealed class NullObserver : ITrainingObserver
    {
        public void Started(RunPlan plan) { }
        public void Stepped(StepReport report) { }
        public void Evaluated(int epoch, long step, EvalResult result) { }
        public void Message(string text) { }
    }
}
