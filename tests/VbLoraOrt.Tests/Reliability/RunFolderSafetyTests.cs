using VbLoraOrt.Cli;
using VbLoraOrt.Contracts.Runs;
using VbLoraOrt.Runner;
using VbLoraOrt.Runner.Demo;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Reliability;

/// <summary>
/// A run folder is never replaced unless the user asks: <c>train --out</c> into a folder holding a run is a usage error
/// that offers <c>--resume</c> and <c>--overwrite</c> and leaves every file byte for byte; <c>--overwrite</c> replaces only
/// the run's own files. <c>export --adapter</c> creates missing parent folders, as <c>--merged</c> does.
/// </summary>
[TestClass]
public sealed class RunFolderSafetyTests
{
    static (int Code, string Error) Train(string run, params string[] more)
    {
        var error = new StringWriter();
        int code = RunnerCli.Run(
            ["train", "--artifacts", PreparedArtifacts.Classify, "--train", PreparedArtifacts.SpamSample(8), "--out", run,
             "--max-steps", "1", "--batch-size", "4", "--threads", "1", .. more],
            new StringWriter(), error);
        return (code, error.ToString());
    }

    static Dictionary<string, byte[]> Snapshot(string dir) =>
        Directory.GetFiles(dir).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);

    [TestMethod]
    public void Train_WhenOutHoldsARun_IsRefusedOfferingResumeAndOverwrite_AndNothingChanges()
    {
        string run = Path.Combine(PreparedArtifacts.NewFolder("vblora-existing"), "run");
        Assert.AreEqual(ExitCodes.Ok, Train(run).Code);
        File.WriteAllText(Path.Combine(run, "notes.txt"), "mine");
        var before = Snapshot(run);

        var (code, error) = Train(run);

        Assert.AreEqual(ExitCodes.Usage, code, error);
        StringAssert.Contains(error, "--resume");
        StringAssert.Contains(error, "--overwrite");
        var after = Snapshot(run);
        CollectionAssert.AreEquivalent(before.Keys, after.Keys);
        foreach (var (name, bytes) in before)
            CollectionAssert.AreEqual(bytes, after[name], $"{name} changed");
    }

    [TestMethod]
    public void Train_WithOverwrite_ReplacesOnlyTheRunsOwnFiles()
    {
        string run = Path.Combine(PreparedArtifacts.NewFolder("vblora-overwrite"), "run");
        Assert.AreEqual(ExitCodes.Ok, Train(run).Code);
        File.WriteAllText(Path.Combine(run, "notes.txt"), "mine");
        File.WriteAllText(Path.Combine(run, RunLayout.Metrics), "{\"step\": 99, \"loss\": 1}\n");

        var (code, error) = Train(run, "--overwrite");

        Assert.AreEqual(ExitCodes.Ok, code, error);
        Assert.AreEqual("mine", File.ReadAllText(Path.Combine(run, "notes.txt")), "a file the run did not write is kept");
        Assert.IsTrue(MetricsFile.ReadSteps(Path.Combine(run, RunLayout.Metrics)).All(s => s.Step == 1), "the old metrics are gone");
    }

    [TestMethod]
    public void ExportAdapter_IntoAMissingFolder_CreatesIt()
    {
        string run = Path.Combine(PreparedArtifacts.NewFolder("vblora-export"), "run");
        Assert.AreEqual(ExitCodes.Ok, Train(run).Code);
        string adapter = Path.Combine(PreparedArtifacts.NewFolder("vblora-export-out"), "a", "b", "spam.safetensors");
        var error = new StringWriter();

        int code = RunnerCli.Run(["export", "--run", run, "--adapter", adapter], new StringWriter(), error);

        Assert.AreEqual(ExitCodes.Ok, code, error.ToString());
        Assert.IsTrue(File.Exists(adapter));
    }

    [TestMethod]
    public void ExportOnnxAdapter_OverAnExistingFile_IsRefusedUnlessOverwrite()
    {
        string run = Path.Combine(PreparedArtifacts.NewFolder("vblora-export-onnx"), "run");
        Assert.AreEqual(ExitCodes.Ok, Train(run).Code);
        string target = Path.Combine(PreparedArtifacts.NewFolder("vblora-export-onnx-out"), "user.onnx_adapter");
        File.WriteAllText(target, "mine");
        var error = new StringWriter();

        int refused = RunnerCli.Run(["export", "--run", run, "--onnx-adapter", target], new StringWriter(), error);

        Assert.AreEqual(ExitCodes.Usage, refused, error.ToString());
        StringAssert.Contains(error.ToString(), "--overwrite");
        Assert.AreEqual("mine", File.ReadAllText(target), "the user's file is untouched");
        Assert.AreEqual(ExitCodes.Ok, RunnerCli.Run(["export", "--run", run, "--onnx-adapter", target, "--overwrite"], new StringWriter(), error), error.ToString());
        Assert.AreNotEqual("mine", File.ReadAllText(target));
    }

    [TestMethod]
    public void Demo_WhenOutHoldsFilesTheDemoDidNotWrite_IsRefusedAndNothingChanges()
    {
        string dir = PreparedArtifacts.NewFolder("vblora-demo-foreign");
        File.WriteAllText(Path.Combine(dir, "thesis.tex"), "mine");
        var error = new StringWriter();

        int code = RunnerCli.Run(["demo", "--out", dir], new StringWriter(), error);

        Assert.AreEqual(ExitCodes.Usage, code, error.ToString());
        StringAssert.Contains(error.ToString(), "did not write");
        CollectionAssert.AreEqual(new[] { "thesis.tex" }, Directory.GetFileSystemEntries(dir).Select(Path.GetFileName).ToArray());
    }

    [TestMethod]
    public void DemoOutput_OwnFolderOrNew_IsClaimedAndMarked()
    {
        string fresh = Path.Combine(PreparedArtifacts.NewFolder("vblora-demo-new"), "demo");
        string earlier = PreparedArtifacts.NewFolder("vblora-demo-earlier");
        Directory.CreateDirectory(Path.Combine(earlier, VbLoraOrt.Runner.Demo.DemoOutput.Run));

        VbLoraOrt.Runner.Demo.DemoOutput.Claim(fresh);
        VbLoraOrt.Runner.Demo.DemoOutput.Claim(earlier);
        VbLoraOrt.Runner.Demo.DemoOutput.Claim(earlier);

        Assert.IsTrue(File.Exists(Path.Combine(fresh, VbLoraOrt.Runner.Demo.DemoOutput.Marker)));
        Assert.IsTrue(File.Exists(Path.Combine(earlier, VbLoraOrt.Runner.Demo.DemoOutput.Marker)));
    }
}
