using System.Diagnostics;
using System.Globalization;
using System.Text;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.Runtime.Runs;
using VbLoraOrt.Runtime.Sessions;
using VbLoraOrt.Runtime.Training;

namespace VbLoraOrt.Bench;

/// <summary>
/// <c>vblora-bench thread-pool</c>: the training step with per-session intra-op pools against one process-wide pool
/// (<see cref="SharedThreadPool"/>). The pool is fixed when a process first touches ONNX Runtime, so each mode runs in
/// processes of its own, alternating A, B, A, B…; each process opens the training, optimizer and evaluation sessions as
/// <c>train</c> does and reports the median of its timed steps.
/// </summary>
public static class ThreadPoolBenchmark
{
    /// <summary>The hidden subcommand a child process runs (<see cref="MeasureHere"/>).</summary>
    public const string ChildCommand = "thread-pool-child";

    /// <summary>The two modes, as the child's <c>--pool</c> spells them.</summary>
    public static readonly string[] Modes = ["session", "shared"];

    /// <summary>Alternates child processes of both modes for <paramref name="rounds"/> rounds; returns the Markdown table.</summary>
    public static string Run(string artifacts, ProgramCommand self, int rounds, int steps, int threads, TextWriter log)
    {
        var medians = Modes.ToDictionary(m => m, _ => new List<double>());
        for (int round = 0; round < rounds; round++)
        {
            // The order flips every round so neither mode always runs right after the other's process.
            foreach (string mode in round % 2 == 0 ? Modes : Modes.Reverse())
            {
                var run = ChildProcessMeter.Run(self.FileName, self.With(ChildCommand, "--artifacts", artifacts, "--pool", mode,
                    "--steps", $"{steps}", "--threads", $"{threads}"));
                string[] lines = run.Output.Trim().Split('\n');
                double ms = double.Parse(lines[^1], CultureInfo.InvariantCulture);
                medians[mode].Add(ms);
                log.WriteLine($"  round {round + 1} {mode,-7} median step {ms:F0} ms ({string.Join("; ", lines[..^1])})");
            }
        }
        var a = SampleSummary.Of(medians[Modes[0]]);
        var b = SampleSummary.Of(medians[Modes[1]]);
        var ratio = SampleSummary.Of(medians[Modes[1]].Zip(medians[Modes[0]], (x, y) => x / y));
        var md = new StringBuilder();
        md.AppendLine(Invariant($"| pool | processes | median of per-process median step (ms) | min | max |")).AppendLine("|---|---:|---:|---:|---:|");
        md.AppendLine(Invariant($"| per session | {a.Count} | {a.Median:F0} | {a.Min:F0} | {a.Max:F0} |"));
        md.AppendLine(Invariant($"| one shared | {b.Count} | {b.Median:F0} | {b.Min:F0} | {b.Max:F0} |"));
        md.AppendLine(Invariant($"| shared / per session (same round) | {ratio.Count} | {ratio.Median:F3} | {ratio.Min:F3} | {ratio.Max:F3} |"));
        return md.ToString();
    }

    /// <summary>
    /// In this process: enables the shared pool when <paramref name="shared"/> (before any session), opens the
    /// sessions <c>train</c> opens, and returns the median of <paramref name="steps"/> timed steps after two warm-up steps, ms.
    /// </summary>
    /// <exception cref="InvalidOperationException">The shared pool was asked for but ONNX Runtime was already initialized.</exception>
    public static double MeasureHere(string artifacts, bool shared, int steps, int threads, string trainFile)
    {
        if (shared && !SharedThreadPool.TryEnable(threads))
            throw new InvalidOperationException("ONNX Runtime was initialized before the shared pool could be created.");
        var folder = ArtifactFolder.Open(artifacts);
        var batch = TrainingBenchmark.FixedBatch(folder, trainFile, batchSize: 16, sequenceLength: 128);
        var settings = TrainingBenchmark.Settings(folder);
        using var device = DeviceSessions.Open(new DeviceOptions { IntraOpThreads = threads });
        using var state = TrainingState.Create(device, folder.Manifest.Trainables, Checkpoint.Load(folder.InitialCheckpoint, folder.Identity));
        using var trainer = Trainer.Create(state, folder.TrainingModel, folder.OptimizerModel);
        using var evaluator = Evaluator.ForArtifacts(device, folder);
        var times = new List<double>();
        for (int i = 0; i < steps + 2; i++)
        {
            long start = Stopwatch.GetTimestamp();
            trainer.Step(batch, settings);
            if (i >= 2)
                times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        OsThreads = Process.GetCurrentProcess().Threads.Count;
        return SampleSummary.Of(times).Median;
    }

    /// <summary>Operating-system threads of this process after the last <see cref="MeasureHere"/> (evidence of the pools in use).</summary>
    public static int OsThreads { get; private set; }

    static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
