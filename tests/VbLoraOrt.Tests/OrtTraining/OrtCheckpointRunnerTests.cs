using VbLoraOrt.Adapters.Methods.VbLora;
using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.GraphBuilder.Artifacts;
using VbLoraOrt.GraphBuilder.OrtTraining;
using VbLoraOrt.GraphBuilder.Tasks;
using VbLoraOrt.OrtFormats.Checkpoints;
using VbLoraOrt.Runner;
using VbLoraOrt.Runtime.Runs;

namespace VbLoraOrt.Tests.OrtTraining;

/// <summary>
/// <c>vblora-run train --from-ort-checkpoint</c> and <c>export --ort-checkpoint</c> on a tiny encoder's artifacts: a run
/// started from ONNX Runtime's checkpoint of a state continues exactly as a run started from the project's own
/// checkpoint of that state (parameters, moments and step survive the ODTC round trip), and export of it gives the
/// adapter of the run it came from.
/// </summary>
[TestClass]
public sealed class OrtCheckpointRunnerTests
{
    static readonly string[] Words = ["cheap", "offer", "win", "cash", "meeting", "lunch", "report", "notes", "free", "today", "team", "call", "prize", "agenda", "now"];
    static string _dir = null!, _artifacts = null!, _data = null!;

    [ClassInitialize]
    public static void Prepare(TestContext _)
    {
        _dir = Directory.CreateTempSubdirectory("vblora-ort-runner").FullName;
        string model = Path.Combine(_dir, "tiny_encoder.onnx"), vocab = Path.Combine(_dir, "vocab.txt");
        TinyTransformer.Write(model);
        File.WriteAllLines(vocab, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", .. Words]);
        _artifacts = Path.Combine(_dir, "artifacts");
        ArtifactBuilder.Prepare(new PrepareOptions
        {
            ModelPath = model,
            OutputDirectory = _artifacts,
            Method = new VbLoraMethod(new VbLoraOptions { NumVectors = 6, VectorLength = 4, Rank = 2, TopK = 2 }),
            Targets = TargetSpec.FromNames(["query", "value"]),
            VocabPath = vocab,
            MaxLength = 6,
            OrtTraining = new OrtArtifactOptions(),
        });
        _data = Path.Combine(_dir, "train.jsonl");
        var rng = new Random(3);
        File.WriteAllLines(_data, Enumerable.Range(0, 12).Select(i =>
            $"{{\"text\": \"{string.Join(' ', Enumerable.Range(0, 2 + i % 3).Select(_ => Words[rng.Next(Words.Length)]))}\", \"label\": {i % 2}}}"));
    }

    [ClassCleanup]
    public static void Delete()
    {
        if (_dir is not null) Directory.Delete(_dir, recursive: true);
    }

    static string[] Train(string outDir, int maxSteps, params string[] extra) =>
        ["train", "--artifacts", _artifacts, "--train", _data, "--out", outDir, "--max-steps", $"{maxSteps}", "--batch-size", "4", "--threads", "1", .. extra];

    static int Run(string[] args, out string output)
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        int code = RunnerCli.Run(args, stdout, stderr);
        output = stdout.ToString() + stderr;
        return code;
    }

    static Checkpoint Saved(string run) => Checkpoint.Load(new RunFolder(run).CheckpointPath, ArtifactFolder.Open(_artifacts).Identity);

    [TestMethod]
    public void TrainFromOrtCheckpoint_ContinuesLikeTheSameStateInOurFormat()
    {
        string first = Path.Combine(_dir, "first");
        Assert.AreEqual(0, Run(Train(first, 2), out string log), log);
        var folder = ArtifactFolder.Open(_artifacts);
        var afterTwo = Saved(first);
        string ortCheckpoint = Path.Combine(_dir, "after-two.ckpt");
        OrtCheckpointWriter.Write(OrtCheckpointConversion.ToOrt(folder.Manifest, afterTwo, 1e-3f), ortCheckpoint);

        string fromOrt = Path.Combine(_dir, "from-ort");
        Assert.AreEqual(0, Run(Train(fromOrt, 3, "--from-ort-checkpoint", ortCheckpoint), out log), log);
        // The reference: the same state handed over in the project's own format, data loader at the start as well.
        var ours = new Checkpoint(afterTwo.ArtifactsId, afterTwo.Step, new DataLoaderPosition(0, 0, 42), afterTwo.Tensors);
        var options = new TrainOptions { Artifacts = _artifacts, TrainFile = _data, Out = Path.Combine(_dir, "from-ours"), MaxSteps = 3, BatchSize = 4, Threads = 1 };
        TrainingRun.Start(options, new SilentObserver(), startFrom: _ => ours);

        var (a, b) = (Saved(fromOrt), Saved(options.Out));
        Assert.AreEqual(3L, a.Step, "the run continued from ONNX Runtime's step 2");
        foreach (var t in b.Tensors)
            CollectionAssert.AreEqual(t.Values, a.Find(t.Name)!.Values, $"{t.Name} after step 3");
        CollectionAssert.AreNotEqual(afterTwo.Find(folder.Manifest.Trainables[0].Name)!.Values, a.Find(folder.Manifest.Trainables[0].Name)!.Values, "step 3 changed the parameters");
    }

    [TestMethod]
    public void ExportOrtCheckpoint_GivesTheAdapterOfTheRunItCameFrom()
    {
        string run = Path.Combine(_dir, "exported-run");
        Assert.AreEqual(0, Run(Train(run, 2), out string log), log);
        string ortCheckpoint = Path.Combine(_dir, "exported.ckpt");
        OrtCheckpointWriter.Write(OrtCheckpointConversion.ToOrt(ArtifactFolder.Open(_artifacts).Manifest, Saved(run), 1e-3f), ortCheckpoint);
        string fromOrt = Path.Combine(_dir, "from-ort.safetensors"), fromRun = Path.Combine(_dir, "from-run.safetensors");
        Assert.AreEqual(0, Run(["export", "--ort-checkpoint", ortCheckpoint, "--artifacts", _artifacts, "--adapter", fromOrt, "--merged", Path.Combine(_dir, "merged", "m.onnx")], out log), log);
        Assert.AreEqual(0, Run(["export", "--run", run, "--adapter", fromRun], out log), log);
        var (a, b) = (SafetensorsFile.Read(fromOrt).Tensors, SafetensorsFile.Read(fromRun).Tensors);
        CollectionAssert.AreEqual(b.Select(t => t.Name).ToArray(), a.Select(t => t.Name).ToArray());
        foreach (var (x, y) in a.Zip(b))
            CollectionAssert.AreEqual(y.Data, x.Data, x.Name);
        Assert.IsTrue(File.Exists(Path.Combine(_dir, "merged", "m.onnx")));
    }

    [TestMethod]
    public void ExportOrtCheckpoint_NotOdtcOrWithoutArtifacts_IsRefused()
    {
        string junk = Path.Combine(_dir, "junk.ckpt");
        File.WriteAllText(junk, "not a flatbuffer at all");
        Assert.AreEqual(1, Run(["export", "--ort-checkpoint", junk, "--artifacts", _artifacts, "--adapter", Path.Combine(_dir, "x.safetensors")], out string log));
        StringAssert.Contains(log, "ODTC");
        Assert.AreEqual(2, Run(["export", "--ort-checkpoint", junk, "--adapter", Path.Combine(_dir, "x.safetensors")], out log));
        StringAssert.Contains(log, "--artifacts");
        Assert.IsFalse(File.Exists(Path.Combine(_dir, "x.safetensors")));
        Assert.AreEqual(2, Run(["train", "--resume", Path.Combine(_dir, "no-run"), "--from-ort-checkpoint", junk], out log));
        StringAssert.Contains(log, "--resume");
    }

    sealed class SilentObserver : ITrainingObserver
    {
        public void Started(RunPlan plan) { }
        public void Stepped(StepReport report) { }
        public void Evaluated(int epoch, long step, EvalResult result) { }
        public void Message(string text) { }
    }
}
