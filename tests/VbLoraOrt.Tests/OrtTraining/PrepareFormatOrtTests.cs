using Onnx;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Cli;
using VbLoraOrt.GraphBuilder.OrtTraining;
using VbLoraOrt.Onnx;
using VbLoraOrt.OrtFormats.Checkpoints;
using VbLoraOrt.Runtime.Runs;

namespace VbLoraOrt.Tests.OrtTraining;

/// <summary><c>vblora-graph prepare --format ort</c> through the command line: what it writes, records and refuses.</summary>
[TestClass]
public sealed class PrepareFormatOrtTests
{
    static string _dir = null!, _model = null!;

    [ClassInitialize]
    public static void WriteModel(TestContext _)
    {
        _dir = Directory.CreateTempSubdirectory("vblora-prepare-ort").FullName;
        _model = Path.Combine(_dir, "tiny_encoder.onnx");
        TinyTransformer.Write(_model);
    }

    [ClassCleanup]
    public static void Delete()
    {
        if (_dir is not null) Directory.Delete(_dir, recursive: true);
    }

    static int Prepare(string outDir, out string log, params string[] extra)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        int code = GraphCli.Run(["prepare", "--model", _model, "--method", "lora", "--rank", "2", "--targets", "query,value", "--out", outDir, .. extra], output, error);
        log = output.ToString() + error;
        return code;
    }

    [TestMethod]
    public void FormatOrt_WritesOnnxRuntimesSetIntoOrtAndHashesIt()
    {
        string outDir = Path.Combine(_dir, "ort");
        Assert.AreEqual(0, Prepare(outDir, out string log, "--format", "ort", "--ort-weight-decay", "0.25", "--ort-learning-rate", "0.002"), log);
        var manifest = ArtifactManifest.Load(Path.Combine(outDir, ArtifactNames.Manifest));
        foreach (string file in OrtTrainingNames.Files)
            Assert.AreEqual(Hashing.Sha256File(Path.Combine(outDir, file)), manifest.Files![file], file);

        var training = OnnxModel.Load(Path.Combine(outDir, OrtTrainingNames.Folder, OrtTrainingNames.TrainingModel)).Graph;
        CollectionAssert.AreEqual(
            new[] { ArtifactNames.Loss }.Concat(manifest.Trainables.Select(t => OrtTrainingNames.AccumulationOut(t.Name))).ToArray(),
            training.Output.Select(o => o.Name).ToArray());
        CollectionAssert.AreEqual(
            manifest.DataInputs.Concat(manifest.LabelInputs).Concat(manifest.Trainables.Select(t => t.Name))
                .Concat(manifest.Trainables.Select(t => OrtTrainingNames.AccumulationBuffer(t.Name))).Append(OrtTrainingNames.LazyResetGrad).ToArray(),
            training.Input.Select(i => i.Name).ToArray());
        Assert.IsTrue(training.Initializer.All(t => t.DataLocation != TensorProto.Types.DataLocation.External), "every tensor inline");

        var adamW = OnnxModel.Load(Path.Combine(outDir, OrtTrainingNames.Folder, OrtTrainingNames.OptimizerModel)).Graph.Node.Single();
        Assert.AreEqual(("AdamWOptimizer", OrtTrainingNames.MicrosoftDomain), (adamW.OpType, adamW.Domain));
        Assert.AreEqual(0.25f, Attr.GetFloat(adamW, "weight_decay", -1));
        Assert.AreEqual(0.9f, Attr.GetFloat(adamW, "alpha", -1));
        Assert.AreEqual(0.999f, Attr.GetFloat(adamW, "beta", -1));
        var checkpoint = OrtCheckpointReader.Read(Path.Combine(outDir, OrtTrainingNames.Folder, OrtTrainingNames.CheckpointFile));
        Assert.AreEqual(0.002f, checkpoint.DefaultGroup!.InitialLearningRate);
        ArtifactFolder.Open(outDir); // the runner accepts the folder with its ort/ files listed
    }

    [TestMethod]
    public void FormatOrt_AFlippedByteInAnOrtFile_IsBadInputWhenTheFolderIsOpened()
    {
        string outDir = Path.Combine(_dir, "flipped");
        Assert.AreEqual(0, Prepare(outDir, out string log, "--format", "ort"), log);
        string optimizer = Path.Combine(outDir, OrtTrainingNames.Folder, OrtTrainingNames.OptimizerModel);
        byte[] bytes = File.ReadAllBytes(optimizer);
        bytes[^1] ^= 0xFF;
        File.WriteAllBytes(optimizer, bytes);
        StringAssert.Contains(Assert.ThrowsExactly<BadInputException>(() => ArtifactFolder.Open(outDir)).Message, "optimizer_model.onnx");
    }

    [TestMethod]
    public void OrtOptions_WithoutFormatOrt_AreAUsageError()
    {
        string outDir = Path.Combine(_dir, "refused");
        Assert.AreEqual(2, Prepare(outDir, out string log, "--ort-weight-decay", "0.1"));
        StringAssert.Contains(log, "--format ort");
        Assert.AreEqual(0, Prepare(outDir, out log), log);
        Assert.IsFalse(Directory.Exists(Path.Combine(outDir, OrtTrainingNames.Folder)), "the default format writes no ort/");
    }
}
