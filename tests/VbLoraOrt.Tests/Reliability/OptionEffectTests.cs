using VbLoraOrt.Cli;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Cli;
using VbLoraOrt.Runner;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Reliability;

/// <summary>Every option either takes effect or is refused, and what is recorded is what is trained.</summary>
[TestClass]
public sealed class OptionEffectTests
{
    [TestMethod]
    public void Train_WithMaxStepsZero_IsAUsageErrorNamingTheOption()
    {
        var error = new StringWriter();
        string run = Path.Combine(PreparedArtifacts.NewFolder("vblora-maxsteps"), "run");

        int code = RunnerCli.Run(["train", "--artifacts", PreparedArtifacts.Classify, "--train", PreparedArtifacts.SpamSample(8), "--out", run, "--max-steps", "0"],
            new StringWriter(), error);

        Assert.AreEqual(ExitCodes.Usage, code, error.ToString());
        StringAssert.Contains(error.ToString(), "--max-steps must be at least 1");
        Assert.IsFalse(Directory.Exists(run), "a refused run leaves no folder");
    }

    [TestMethod]
    public void Prepare_EmbedWithClsPooling_IsAUsageError()
    {
        var error = new StringWriter();

        int code = GraphCli.Run(["prepare", "--model", RealModel.ModelPath, "--targets", "query,value", "--task", "embed", "--pooling", "cls",
            "--out", PreparedArtifacts.NewFolder("vblora-embed-cls")], new StringWriter(), error);

        Assert.AreEqual(ExitCodes.Usage, code, error.ToString());
        StringAssert.Contains(error.ToString(), "--pooling cls does not apply");
    }

    [TestMethod]
    public void Prepare_Embed_RecordsTheMeanPoolingItTrains()
    {
        var manifest = ArtifactManifest.Load(Path.Combine(PreparedArtifacts.Embed, ArtifactNames.Manifest));

        Assert.AreEqual(TaskKind.Embed, manifest.Task.Kind);
        Assert.AreEqual(Pooling.Mean, manifest.Task.Pooling);
    }
}
