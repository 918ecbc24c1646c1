using System.Diagnostics;
using System.Text.RegularExpressions;
using VbLoraOrt.Cli;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Runs;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Reliability;

/// <summary>
/// <c>vblora-run train</c> as a child process, interrupted like an edge box that loses power (SIGKILL at random
/// moments, then <c>train --resume</c>) or like a user pressing Ctrl+C (SIGINT). CPU, one intra-op thread: ONNX
/// Runtime's CPU results are then bitwise reproducible, so a resumed run must end with exactly the straight run's state.
/// </summary>
[TestClass]
public sealed partial class TrainInterruptionTests
{
    const int Steps = 80;
    const int Kills = 20;
    static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(2);

    public TestContext TestContext { get; set; } = null!;

    static string[] TrainArgs(string run, string data, long steps) =>
    [
        "train", "--artifacts", PreparedArtifacts.Classify, "--train", data, "--out", run, "--batch-size", "2", "--max-length", "16",
        "--checkpoint-every", "1", "--max-steps", steps.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--threads", "1", "--seed", "3", "--warmup", "5",
    ];

    // Waits for `time`, but no further than the checkpoint reaching `step`, nor past the child's exit.
    static void WaitUntil(RunnerProcess run, string dir, TimeSpan time, long step)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < time && !run.HasExited && CheckpointStep(dir) < step)
            Thread.Sleep(2);
    }

    static long CheckpointStep(string run)
    {
        try { return LoadCheckpoint(run).Step; }
        catch (CheckpointException) { return -1; } // not written yet (a torn file would be caught after the kill)
    }

    // Opening the folder verifies its files' hashes (~0.3 s): done once, so polling for progress stays fast.
    static readonly Lazy<string> Identity = new(() => ArtifactFolder.Open(PreparedArtifacts.Classify).Identity);

    static Checkpoint LoadCheckpoint(string run) => Checkpoint.Load(new RunFolder(run).CheckpointPath, Identity.Value);

    [TestMethod]
    public void Train_KilledAtTwentyRandomMomentsAndResumed_EndsBitwiseEqualToStraightRun()
    {
        string data = PreparedArtifacts.SpamSample(40);
        string straight = PreparedArtifacts.NewFolder("vblora-straight"), killed = PreparedArtifacts.NewFolder("vblora-killed");
        var wall = Stopwatch.StartNew();

        // The straight run also measures start-up and step time, so kill moments spread over both.
        var clock = Stopwatch.StartNew();
        double startup;
        using (var run = RunnerProcess.Start(TrainArgs(straight, data, Steps)))
        {
            while (!File.Exists(new RunFolder(straight).CheckpointPath) && !run.HasExited) Thread.Sleep(5);
            startup = clock.Elapsed.TotalSeconds;
            Assert.AreEqual(ExitCodes.Ok, run.WaitForExit(RunTimeout), run.Output);
        }
        double perStep = (clock.Elapsed.TotalSeconds - startup) / Steps;

        var random = new Random(20_260_601);
        var progress = new List<long>();
        int kills = 0, corrupt = 0, restartsFromScratch = 0;
        while (kills < Kills)
        {
            var folder = new RunFolder(killed);
            long done = File.Exists(folder.CheckpointPath) ? LoadCheckpoint(killed).Step : 0;
            bool resumable = File.Exists(folder.OptionsPath);
            if (!resumable) restartsFromScratch++;
            using var run = RunnerProcess.Start(resumable ? ["train", "--resume", killed] : TrainArgs(killed, data, Steps));
            // A quarter of the kills land in start-up (loading, sessions, the first checkpoint); the rest at a random point
            // inside the step after a random advance small enough to leave work for the kills still to come.
            long target = done + random.NextInt64(1, Math.Max(1, (Steps - done) / (Kills - kills + 1)) + 1);
            if (random.NextDouble() < 0.25)
                WaitUntil(run, killed, TimeSpan.FromSeconds(random.NextDouble() * startup), target);
            else
            {
                WaitUntil(run, killed, RunTimeout, target);
                WaitUntil(run, killed, TimeSpan.FromSeconds(random.NextDouble() * perStep), target + 1);
            }
            if (run.HasExited)
                Assert.Fail($"the run ended (exit {run.WaitForExit(RunTimeout)}) before kill {kills + 1} of {Kills}; output:\n{run.Output}");
            run.Kill();
            kills++;
            if (File.Exists(folder.CheckpointPath))
            {
                try { progress.Add(LoadCheckpoint(killed).Step); }
                catch (CheckpointException e) { corrupt++; TestContext.WriteLine($"corrupt after kill {kills}: {e.Message}"); }
            }
        }
        using (var run = RunnerProcess.Start("train", "--resume", killed))
            Assert.AreEqual(ExitCodes.Ok, run.WaitForExit(RunTimeout), run.Output);

        TestContext.WriteLine($"{kills} kills ({restartsFromScratch} before run.json existed); checkpoint step after each: {string.Join(" ", progress)}; " +
            $"start-up {startup:F2} s, {perStep * 1000:F0} ms/step; wall {wall.Elapsed.TotalSeconds:F1} s");
        Assert.AreEqual(0, corrupt, "a kill left a checkpoint that does not load");
        CollectionAssert.AreEqual(progress.Order().ToList(), progress, "a checkpoint went back in time");
        AssertSameState(LoadCheckpoint(straight), LoadCheckpoint(killed));
        Assert.IsEmpty(Directory.GetFiles(killed, "*.tmp"), "a resumed run leaves no temporary files behind");
    }

    [TestMethod]
    [DataRow("SIGINT", ExitCodes.Cancelled)]
    [DataRow("SIGTERM", ExitCodes.Terminated)]
    public void Train_OnSigintOrSigterm_SavesFinalCheckpointAndExitsWithTheSignalsCode(string signal, int expected)
    {
        string data = PreparedArtifacts.SpamSample(40);
        string dir = PreparedArtifacts.NewFolder("vblora-" + signal.ToLowerInvariant());
        using var run = RunnerProcess.Start(TrainArgs(dir, data, 100_000));
        Assert.IsTrue(run.WaitForOutput("training on", RunTimeout), run.Output);
        Thread.Sleep(500);

        if (signal == "SIGTERM") run.Terminate(); else run.Interrupt();
        int code = run.WaitForExit(RunTimeout);

        Assert.AreEqual(expected, code, run.Output);
        var stopped = StoppedAt().Match(run.Output);
        Assert.IsTrue(stopped.Success, run.Output);
        Assert.AreEqual(long.Parse(stopped.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), LoadCheckpoint(dir).Step,
            "the final checkpoint holds the step the runner reported");
        Assert.IsTrue(LoadCheckpoint(dir).Tensors.All(t => t.Values.All(float.IsFinite)));
    }

    static void AssertSameState(Checkpoint expected, Checkpoint actual)
    {
        Assert.AreEqual(expected.Step, actual.Step);
        Assert.AreEqual(expected.Position, actual.Position);
        Assert.HasCount(expected.Tensors.Count, actual.Tensors);
        foreach (var (e, a) in expected.Tensors.Zip(actual.Tensors))
        {
            Assert.AreEqual(e.Name, a.Name);
            CollectionAssert.AreEqual(e.Values, a.Values, $"{e.Name} differs bitwise from the straight run");
        }
    }

    [GeneratedRegex(@"stopped at step (\d+)")]
    private static partial Regex StoppedAt();
}
