using System.Text.Json;
using VbLoraOrt.Cli;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.Contracts.Runs;
using VbLoraOrt.Runner;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Reliability;

/// <summary>
/// A run behaves like a user's other long jobs: <c>--resume</c> with <c>--max-steps</c> or <c>--epochs</c> trains a finished
/// run further (and any other option with <c>--resume</c> is refused, not ignored); a <c>train</c> that fails before it
/// saved anything leaves no run folder; <c>run.json</c> stores absolute paths, so the run's later commands work from any
/// directory. Eight spam/ham rows in batches of 4: two steps per epoch.
/// </summary>
[TestClass]
public sealed class TrainLifecycleTests
{
    static readonly List<string> Folders = [];

    static string NewFolder(string prefix)
    {
        string dir = PreparedArtifacts.NewFolder(prefix);
        lock (Folders)
            Folders.Add(dir);
        return dir;
    }

    [ClassCleanup]
    public static void DeleteFolders()
    {
        foreach (string dir in Folders.Where(Directory.Exists))
            Directory.Delete(dir, recursive: true);
    }

    static (int Code, string Error) Run(params string[] args)
    {
        var error = new StringWriter();
        int code = RunnerCli.Run(args, new StringWriter(), error);
        return (code, error.ToString());
    }

    static string[] Train(string run, string data, params string[] more) =>
        ["train", "--artifacts", PreparedArtifacts.Classify, "--train", data, "--out", run, "--batch-size", "4", "--threads", "1", .. more];

    static long StepOf(string run) => Checkpoint.Load(Path.Combine(run, RunLayout.Checkpoint), null).Step;

    static Dictionary<string, byte[]> Snapshot(string dir) => Directory.GetFiles(dir).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);

    [TestMethod]
    public void Resume_WithMaxSteps_TrainsAFinishedRunFurther_AndRecordsTheNewTotal()
    {
        string run = Path.Combine(NewFolder("vblora-extend"), "run");
        string data = PreparedArtifacts.SpamSample(8);
        Assert.AreEqual(ExitCodes.Ok, Run(Train(run, data, "--max-steps", "2")).Code);
        Assert.AreEqual(2, StepOf(run));

        var (code, error) = Run("train", "--resume", run, "--max-steps", "5");

        Assert.AreEqual(ExitCodes.Ok, code, error);
        Assert.AreEqual(5, StepOf(run), "the run went on to the new total");
        CollectionAssert.AreEqual(new long[] { 1, 2, 3, 4, 5 }, MetricsFile.ReadSteps(Path.Combine(run, RunLayout.Metrics)).Select(s => s.Step).ToArray());
        using var options = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, RunLayout.Options)));
        Assert.AreEqual(5, options.RootElement.GetProperty("maxSteps").GetInt64(), "a later plain --resume continues to the same total");
    }

    [TestMethod]
    public void Resume_WithEpochs_TrainsTheFurtherEpochs()
    {
        string run = Path.Combine(NewFolder("vblora-extend-epochs"), "run");
        string data = PreparedArtifacts.SpamSample(8);
        Assert.AreEqual(ExitCodes.Ok, Run(Train(run, data, "--epochs", "1")).Code);
        Assert.AreEqual(2, StepOf(run));

        var (code, error) = Run("train", "--resume", run, "--epochs", "2");

        Assert.AreEqual(ExitCodes.Ok, code, error);
        Assert.AreEqual(4, StepOf(run), "two more batches: the second epoch");
    }

    [TestMethod]
    public void Resume_WithATotalTheRunReached_IsRefusedAndNothingChanges()
    {
        string run = Path.Combine(NewFolder("vblora-extend-short"), "run");
        Assert.AreEqual(ExitCodes.Ok, Run(Train(run, PreparedArtifacts.SpamSample(8), "--max-steps", "2")).Code);
        var before = Snapshot(run);

        var (code, error) = Run("train", "--resume", run, "--max-steps", "2");

        Assert.AreEqual(ExitCodes.Usage, code, error);
        StringAssert.Contains(error, "--max-steps 2");
        StringAssert.Contains(error, "step 2");
        AssertUnchanged(before, Snapshot(run));
    }

    [TestMethod]
    [DataRow("--batch-size", "8")]
    [DataRow("--lr", "bank=0.5")]
    [DataRow("--seed", "7")]
    [DataRow("--train", "other.jsonl")]
    public void Resume_WithAnOptionThatWouldChangeTheRun_IsRefusedNamingIt(string option, string value)
    {
        string run = Path.Combine(NewFolder("vblora-resume-option"), "run");
        Assert.AreEqual(ExitCodes.Ok, Run(Train(run, PreparedArtifacts.SpamSample(8), "--max-steps", "1")).Code);
        var before = Snapshot(run);

        var (code, error) = Run("train", "--resume", run, option, value);

        Assert.AreEqual(ExitCodes.Usage, code, error);
        StringAssert.Contains(error, option);
        StringAssert.Contains(error, "--max-steps");
        AssertUnchanged(before, Snapshot(run));
    }

    [TestMethod]
    public void Train_WhenTheDataHasABrokenRow_LeavesNoRunFolder()
    {
        string parent = NewFolder("vblora-failed-train");
        string data = Path.Combine(parent, "broken.jsonl");
        File.WriteAllLines(data, File.ReadLines(PreparedArtifacts.SpamSample(8)).Take(3).Append("{\"text\": \"no label\""));
        string run = Path.Combine(parent, "run");

        var (code, error) = Run(Train(run, data, "--max-steps", "1"));

        Assert.AreEqual(ExitCodes.BadInput, code, error);
        StringAssert.Contains(error, "broken.jsonl:4");
        Assert.IsFalse(Directory.Exists(run), "a failed train leaves no run folder");
    }

    [TestMethod]
    public void Train_WhenItFailsInAnEmptyFolderTheUserMade_LeavesTheFolderEmpty()
    {
        string parent = NewFolder("vblora-failed-train-own");
        string run = Directory.CreateDirectory(Path.Combine(parent, "run")).FullName;

        var (code, error) = Run(Train(run, Path.Combine(parent, "missing.jsonl"), "--max-steps", "1"));

        Assert.AreEqual(ExitCodes.BadInput, code, error);
        StringAssert.Contains(error, "missing.jsonl");
        Assert.IsTrue(Directory.Exists(run), "the user's folder stays");
        Assert.IsEmpty(Directory.GetFileSystemEntries(run));
    }

    [TestMethod]
    public void Train_IntoAFolderHoldingTheUsersOtherFiles_IsRefusedAndAddsNothing()
    {
        string parent = NewFolder("vblora-train-user-folder");
        string mine = Directory.CreateDirectory(Path.Combine(parent, "notes")).FullName;
        File.WriteAllText(Path.Combine(mine, "todo.txt"), "mine");
        var before = Snapshot(mine);

        var (code, error) = Run(Train(mine, PreparedArtifacts.SpamSample(8), "--max-steps", "1"));

        Assert.AreEqual(ExitCodes.Usage, code, error);
        StringAssert.Contains(error, "todo.txt");
        StringAssert.Contains(error, "--out");
        AssertUnchanged(before, Snapshot(mine));
        Assert.HasCount(1, Directory.GetFileSystemEntries(mine));
    }

    [TestMethod]
    public void RunJson_StoresAbsolutePaths_SoTheRunIsUsableFromAnyDirectory()
    {
        string parent = NewFolder("vblora-relative");
        string data = PreparedArtifacts.SpamSample(8);
        string cwd = Environment.CurrentDirectory;
        string run = Path.Combine(parent, "run");
        // the paths as a user in the current directory would type them
        var (code, error) = Run("train", "--artifacts", Path.GetRelativePath(cwd, PreparedArtifacts.Classify), "--train", Path.GetRelativePath(cwd, data),
            "--out", Path.GetRelativePath(cwd, run), "--batch-size", "4", "--threads", "1", "--max-steps", "1");
        Assert.AreEqual(ExitCodes.Ok, code, error);

        using var options = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, RunLayout.Options)));
        foreach (string key in new[] { "artifacts", "trainFile", "out" })
        {
            string stored = options.RootElement.GetProperty(key).GetString()!;
            Assert.IsTrue(Path.IsPathFullyQualified(stored), $"{key} is stored absolute: {stored}");
        }
        Assert.AreEqual(Path.GetFullPath(PreparedArtifacts.Classify), options.RootElement.GetProperty("artifacts").GetString());
        Assert.AreEqual(Path.GetFullPath(data), options.RootElement.GetProperty("trainFile").GetString());
    }

    static void AssertUnchanged(Dictionary<string, byte[]> before, Dictionary<string, byte[]> after)
    {
        CollectionAssert.AreEquivalent(before.Keys, after.Keys);
        foreach (var (name, bytes) in before)
            CollectionAssert.AreEqual(bytes, after[name], $"{name} changed");
    }
}
