using System.Globalization;
using System.Text;
using TorchSharp;
using VbLoraOrt.Bench;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Runtime.Sessions;
using VbLoraOrt.Runtime.Training;

namespace VbLoraOrt.TorchReference;

/// <summary>One pooling's step times.</summary>
/// <param name="Pooling">The head's pooling.</param>
/// <param name="OursMs">Our step: training session + optimizer session through <see cref="Trainer"/>.</param>
/// <param name="TorchMs">LibTorch's step: forward, backward, AdamW.</param>
/// <param name="OursOverTorch">Our time / LibTorch's, per pair (same iteration).</param>
/// <param name="OursOverForward">Our step / the base forward, per iteration.</param>
/// <param name="TorchOverForward">LibTorch's step / the base forward, per iteration.</param>
/// <param name="OursLastLoss">Our loss at the last timed step (both sides train on the same batch from the same values).</param>
/// <param name="TorchLastLoss">LibTorch's loss at the last timed step.</param>
/// <param name="TorchForwardMs">LibTorch's forward (loss included) within its step.</param>
/// <param name="TorchBackwardMs">LibTorch's backward within its step.</param>
/// <param name="TorchOptimizerMs">LibTorch's AdamW within its step.</param>
sealed record PooledStepTimes(Pooling Pooling, SampleSummary OursMs, SampleSummary TorchMs, SampleSummary OursOverTorch,
    SampleSummary OursOverForward, SampleSummary TorchOverForward, float OursLastLoss, float TorchLastLoss,
    SampleSummary TorchForwardMs, SampleSummary TorchBackwardMs, SampleSummary TorchOptimizerMs);

/// <summary>
/// <c>vblora-torch bench</c>: in one process, our full training step (<see cref="Trainer"/> on the product's session
/// setup: per-session pools, the given intra-op threads) against LibTorch's step on the same batch and initial values,
/// for each pooling, and the base model's ORT forward for scale — timed interleaved by <c>vblora-bench</c>'s own loop
/// (warm-up, then per iteration one run of each, the first rotating), so load on the shared machine hits all alike.
/// </summary>
static class StepComparison
{
    public static (SampleSummary ForwardMs, IReadOnlyList<PooledStepTimes> Steps) Run(IReadOnlyList<ReferenceSetup> setups, MiniLmWeights weights,
        int threads, int warmup, int iterations, AttentionKind attention, TextWriter log, CancellationToken cancel)
    {
        using var device = DeviceSessions.Open(new DeviceOptions { IntraOpThreads = threads });
        using var baseModel = BoundForward.Open(device, Path.Combine(setups[0].Folder.Directory, ArtifactNames.BaseModel), setups[0].Batch);
        var owned = new List<IDisposable>();
        try
        {
            var actions = new List<Action> { baseModel.Run };
            var lastLosses = new float[setups.Count, 2];
            var parts = setups.Select(_ => new List<StepParts>()).ToArray();
            for (int s = 0; s < setups.Count; s++)
            {
                var setup = setups[s];
                int index = s;
                var state = Own(owned, TrainingState.Create(device, setup.Folder.Manifest.Trainables, setup.Initial));
                var trainer = Own(owned, Trainer.Create(state, setup.Folder.TrainingModel, setup.Folder.OptimizerModel));
                var torchSide = TorchTrainer.Create(weights, setup, attention);
                actions.Add(() =>
                {
                    var result = trainer.Step(setup.Batch, setup.Settings);
                    lastLosses[index, 0] = result.Applied ? result.Loss : throw new InvalidOperationException($"our step was rejected: {result.Rejection}");
                });
                actions.Add(() =>
                {
                    lastLosses[index, 1] = torchSide.Step();
                    parts[index].Add(torchSide.LastParts);
                });
            }
            log.WriteLine($"{warmup} warm-up + {iterations} interleaved iterations of: ORT base forward, " +
                          string.Join(", ", setups.Select(s => $"our and LibTorch's {s.Folder.Manifest.Task.Pooling.ToString().ToLowerInvariant()}-pooled step")));
            var times = TrainingBenchmark.Interleaved(warmup, iterations, LatencyClock.Wall, cancel, [.. actions]);
            var forward = times[0];
            var steps = setups.Select((setup, s) =>
            {
                var (ours, theirs) = (times[1 + 2 * s], times[2 + 2 * s]);
                var timed = parts[s].Skip(warmup).ToList(); // the warm-up steps were recorded too
                return new PooledStepTimes(setup.Folder.Manifest.Task.Pooling, Ms(ours), Ms(theirs), Ratio(ours, theirs), Ratio(ours, forward),
                    Ratio(theirs, forward), lastLosses[s, 0], lastLosses[s, 1],
                    Ms([.. timed.Select(t => t.Forward)]), Ms([.. timed.Select(t => t.Backward)]), Ms([.. timed.Select(t => t.Optimizer)]));
            }).ToList();
            return (Ms(forward), steps);
        }
        finally
        {
            for (int i = owned.Count - 1; i >= 0; i--) owned[i].Dispose();
        }
    }

    /// <summary>The Markdown report: settings, machine, one table.</summary>
    public static string Report(string command, MachineInfo machine, string loadAtEnd, int threads, int warmup, int iterations, AttentionKind attention,
        SampleSummary forward, IReadOnlyList<PooledStepTimes> steps)
    {
        var text = new StringBuilder();
        text.AppendLine($"`{command}` — all-MiniLM-L6-v2, VB-LoRA (q,v; bank 256×128, r 4, k 2), 2-class head; batch {ReferenceSetup.BatchSize} × sequence " +
                        $"{ReferenceSetup.SequenceLength} of the SpamAssassin training split; CPU, {threads} threads on each side (ORT: per-session intra-op pools, " +
                        $"the product's session setup; LibTorch {torch.__version__} via TorchSharp: `set_num_threads({threads})`, {OmpWaitPolicy()}, attention by " +
                        $"{(attention == AttentionKind.Sdpa ? "`scaled_dot_product_attention`" : "matmul + softmax")}); {warmup} warm-up + {iterations} timed iterations, interleaved in one process.");
        text.AppendLine();
        text.AppendLine("| measure | median | min | max |");
        text.AppendLine("|---|---:|---:|---:|");
        Row(text, "ORT forward, base model (ms)", forward, "F0");
        foreach (var s in steps)
        {
            string p = s.Pooling == Pooling.Mean ? "mean-pooled" : "CLS-pooled";
            Row(text, $"our step, {p}: training + optimizer session (ms)", s.OursMs, "F0");
            Row(text, $"LibTorch step, {p}: forward + backward + AdamW (ms)", s.TorchMs, "F0");
            Row(text, $"**ours / LibTorch** (per pair), {p}", s.OursOverTorch, "F3");
            Row(text, $"our step / forward, {p}", s.OursOverForward, "F2");
            Row(text, $"LibTorch step / forward, {p}", s.TorchOverForward, "F2");
            Row(text, $"LibTorch's parts, {p}: forward + loss (ms)", s.TorchForwardMs, "F0");
            Row(text, $"LibTorch's parts, {p}: backward (ms)", s.TorchBackwardMs, "F0");
            Row(text, $"LibTorch's parts, {p}: AdamW + loss to host (ms)", s.TorchOptimizerMs, "F1");
        }
        text.AppendLine();
        text.AppendLine("Loss at the last timed step (both sides step the same batch from the same values): " +
                        string.Join("; ", steps.Select(s => $"{s.Pooling.ToString().ToLowerInvariant()} ours {F(s.OursLastLoss, "F6")}, LibTorch {F(s.TorchLastLoss, "F6")}")) + ".");
        text.AppendLine();
        text.AppendLine($"Machine: {machine.Cpu}, {machine.LogicalCores} logical cores, ONNX Runtime {machine.OrtVersion}, {machine.Runtime}; " +
                        $"load average (1, 5, 15 min) at the start {machine.LoadAverage?.ToString("F2", CultureInfo.InvariantCulture) ?? "?"} (1 min), at the end {loadAtEnd}.");
        return text.ToString();
    }

    // libgomp (libtorch's OpenMP) reads OMP_WAIT_POLICY when it loads: unset, its idle threads spin for a while before
    // sleeping, taking a core from whatever runs next (here the other side's step); PASSIVE makes them sleep at once.
    static string OmpWaitPolicy() => Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is { Length: > 0 } policy
        ? $"`OMP_WAIT_POLICY={policy}`"
        : "`OMP_WAIT_POLICY` unset (libgomp's default: idle threads spin before sleeping)";

    static void Row(StringBuilder text, string label, SampleSummary s, string format) =>
        text.AppendLine($"| {label} | {F(s.Median, format)} | {F(s.Min, format)} | {F(s.Max, format)} |");

    static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    static SampleSummary Ms(List<double> seconds) => SampleSummary.Of(seconds).Scaled(1e3);

    static SampleSummary Ratio(List<double> numerator, List<double> denominator) => SampleSummary.Of(numerator.Zip(denominator, (a, b) => a / b));

    static T Own<T>(List<IDisposable> owned, T value) where T : IDisposable
    {
        owned.Add(value);
        return value;
    }
}
