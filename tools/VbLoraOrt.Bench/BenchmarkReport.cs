using System.Globalization;
using System.Text;
using System.Text.Json;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Bench;

/// <summary>Writes a <see cref="BenchmarkResult"/> as a markdown report (tables and the machine; <c>artifacts/bench/training.md</c> by default) and as JSON, atomically.</summary>
public static class BenchmarkReport
{
    /// <summary>Step / forward time of the CLS-pooled step at most this (issue target).</summary>
    public const double ClsStepOverForwardTarget = 1.80;

    /// <summary>Step / forward time of the mean-pooled step at most this (issue target).</summary>
    public const double MeanStepOverForwardTarget = 2.05;

    /// <summary>Forward part of the training graph over the base forward (profiled kernel time) at most this.</summary>
    public const double ForwardPartTarget = 1.05;

    /// <summary>Bucketed / fixed-padding real-token throughput at least this.</summary>
    public const double BucketingSpeedupTarget = 2.0;

    /// <summary>Merged / base latency within 1 ± this.</summary>
    public const double MergedTolerance = 0.03;

    /// <summary><c>prepare</c> wall time at most this, seconds.</summary>
    public const double PrepareSecondsTarget = 5.0;

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Writes <paramref name="result"/> to <paramref name="markdownPath"/> and <paramref name="jsonPath"/>.</summary>
    public static void Write(BenchmarkResult result, string command, string markdownPath, string jsonPath)
    {
        ArgumentNullException.ThrowIfNull(result);
        foreach (string path in new[] { markdownPath, jsonPath })
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        AtomicFile.WriteAllText(markdownPath, Markdown(result, command));
        AtomicFile.WriteAllText(jsonPath, JsonSerializer.Serialize(result, Json));
    }

    /// <summary>The Markdown report: the main table, the step profile, adapter sizes and the machine.</summary>
    public static string Markdown(BenchmarkResult r, string command)
    {
        ArgumentNullException.ThrowIfNull(r);
        var s = r.Settings;
        var md = new StringBuilder();
        md.AppendLine("# Benchmarks").AppendLine();
        md.AppendLine(Invariant($"`{command}` — {s.Model}, {s.Adapter}; batch {s.BatchSize} × sequence {s.SequenceLength}, CPU, {s.Threads} intra-op threads ") +
                                Invariant($"(the product's session setup: per-session pools, spinning off); {s.Warmup} warm-up + {s.Iterations} timed iterations, the compared things timed interleaved in one process") +
                                (s.Clock == LatencyClock.Cpu ? "; iteration times are process CPU time (`--clock cpu`), token throughput wall-clock." : ".")).AppendLine();
        md.AppendLine("| measure | median | min | max | target |").AppendLine("|---|---:|---:|---:|---|");
        Row(md, "ORT forward, base model (ms)", r.ForwardMs, "F0", "reference");
        Row(md, "training step, CLS-pooled head: training + optimizer session (ms)", r.StepMs, "F0", "");
        Row(md, "step / forward (per iteration), CLS-pooled head", r.StepOverForward, "F2", Check($"≤ {ClsStepOverForwardTarget:F2}", r.StepOverForward.Median <= ClsStepOverForwardTarget));
        Row(md, "training step, mean-pooled head (ms)", r.MeanPooled.StepMs, "F0", "every position read: nothing to prune");
        Row(md, "step / forward (per iteration), mean-pooled head", r.MeanPooled.StepOverForward, "F2", Check($"≤ {MeanStepOverForwardTarget:F2}", r.MeanPooled.StepOverForward.Median <= MeanStepOverForwardTarget));
        Row(md, "head-only step (`train --head-only`: head-only graph, adapter frozen), mean-pooled (ms)", r.HeadOnly.StepMs, "F0", "");
        Row(md, "head-only step / full mean-pooled step (per iteration)", r.HeadOnly.OverFullStep, "F2", "no backward through the encoder");
        if (r.Comparison is { } c)
        {
            Row(md, $"training step, compared artifacts `{c.Artifacts}` (ms)", c.StepMs, "F0", "");
            Row(md, "step / forward (per iteration), compared artifacts", c.StepOverForward, "F2", "");
            Row(md, "mean-pooled step / compared step (per iteration)", c.MeanOverCompared, "F3", "below 1: these graphs are faster");
        }
        md.AppendLine(Invariant($"| counted GFLOP (MatMul/Gemm): forward / step CLS / step mean | {r.ForwardGflop:F1} / {r.StepGflop:F1} / {r.MeanPooled.StepGflop:F1} | | | frozen dW skipped: mean {r.MeanPooled.StepGflop / r.ForwardGflop:F2}×, CLS {r.StepGflop / r.ForwardGflop:F2}× forward |"));
        md.AppendLine(Invariant($"| achieved GFLOP/s: forward / step CLS / step mean (at median) | {r.ForwardGflop / (r.ForwardMs.Median / 1e3):F1} / {r.StepGflop / (r.StepMs.Median / 1e3):F1} / {r.MeanPooled.StepGflop / (r.MeanPooled.StepMs.Median / 1e3):F1} | | | |"));
        foreach (var t in new[] { r.Throughput, r.LongThroughput })
        {
            md.AppendLine(Invariant($"| real tokens/s, training on {t.ExamplesTimed} examples of {s.TrainFile}, max length {t.MaxLength}: bucketed / fixed | {t.BucketedTokensPerSecond:F0} / {t.FixedTokensPerSecond:F0} | | | |"));
            md.AppendLine(Invariant($"| bucketed / fixed real-token throughput, max length {t.MaxLength} | {t.Speedup:F2} | | | {Check($"≥ {BucketingSpeedupTarget:F1}", t.Speedup >= BucketingSpeedupTarget)} (real tokens {t.BucketedPaddingEfficiency:P0} vs {t.FixedPaddingEfficiency:P0} of the padded batches) |"));
        }
        Row(md, "merged-model inference (ms)", r.Merged.MergedMs, "F0", "");
        Row(md, Invariant($"merged / base latency (per iteration, {r.Merged.MergedOverBase.Count} iterations)"), r.Merged.MergedOverBase, "F3",
            Check($"1.00 ± {MergedTolerance:F2}", Math.Abs(r.Merged.MergedOverBase.Median - 1) <= MergedTolerance));
        md.AppendLine(Invariant($"| forward part of the mean-pooled training graph / base forward, profiled kernel time, sums of per-node medians over {r.Profile.Steps} steady runs ({r.Profile.ForwardPartMs:F0} / {r.Profile.BaseForwardMs:F0} ms) | {r.Profile.ForwardPartOverBase:F2} | | | {Check($"≤ {ForwardPartTarget:F2}", r.Profile.ForwardPartOverBase <= ForwardPartTarget)} |"));
        Row(md, "forward part cut out of the mean-pooled training graph (its saved values as outputs) / base forward, no profiler (per iteration)", r.ForwardCut.CutOverBase, "F3",
            Invariant($"second measure of the row above ({r.ForwardCut.CutMs.Median:F0} / {r.ForwardCut.BaseMs.Median:F0} ms)"));
        FloorRows(md, r);
        md.AppendLine(Invariant($"| `vblora-graph prepare` wall time (s), child process | {r.Prepare.WallMs / 1e3:F2} | | | {Check($"≤ {PrepareSecondsTarget:F0} s", r.Prepare.WallMs / 1e3 <= PrepareSecondsTarget)} |"));
        md.AppendLine(Invariant($"| peak RSS (MiB): prepare / `train` (3 steps at {s.BatchSize}×{s.SequenceLength}), child processes | {Mib(r.Prepare.PeakRssBytes)} / {Mib(r.Training.PeakRssBytes)} | | | |"));
        md.AppendLine();

        md.AppendLine("Adapter size on disk, stored form:").AppendLine();
        md.AppendLine("| method | stored parameters | bytes | |").AppendLine("|---|---:|---:|---|");
        foreach (var a in r.Adapters)
            md.AppendLine(Invariant($"| {a.Method} | {a.StoredParameters:N0} | {a.Bytes:N0} | {(a.Measured ? "file written (safetensors, metadata included)" : "computed (tensor bytes, no header)")} |"));
        md.AppendLine();

        var p = r.Profile;
        md.AppendLine(Invariant($"Where the mean-pooled step goes (ONNX Runtime profiler; per node the median over {p.Steps} steady runs, the first {p.WarmupRuns} runs of each session skipped; ") +
                                Invariant($"{p.StepMs:F0} ms per profiled step; kernel time per step: forward part {p.ForwardPartMs:F0} ms, backward `grad/…` {p.BackwardMs:F0} ms ({p.BackwardShare:P0} of the training session), ") +
                                Invariant($"optimizer session {p.OptimizerMs:F1} ms; op names after ORT's fusions):")).AppendLine();
        OpTable(md, p.TopOps, "share of kernel time");
        md.AppendLine("The backward's largest op types other than matrix products:").AppendLine();
        OpTable(md, p.TopBackwardOther, "share of the backward");
        var m = r.Machine;
        md.AppendLine(Invariant($"Machine: {m.Cpu}, {m.LogicalCores} logical cores, ONNX Runtime {m.OrtVersion}, {m.Runtime}") +
                                (m.LoadAverage is { } load ? Invariant($"; 1-min load average {load:F1} at the start (shared machine: absolute times are noisy, ratios are interleaved).") : "."));
        return md.ToString();
    }

    // How far the mean-pooled step can go without changing its products: the profile's own step / forward beside two
    // floors (the products as they ran, and at the forward's product rate, each plus the work inference already does),
    // and what the ratio target leaves for the step's other work against what it spent on it.
    static void FloorRows(StringBuilder md, BenchmarkResult r)
    {
        var p = r.Profile;
        double stepKernel = p.ForwardPartMs + p.BackwardMs + p.OptimizerMs, flopRatio = r.MeanPooled.StepGflop / r.ForwardGflop;
        double other = stepKernel - p.StepProductMs - p.BaseOtherMs, budget = (MeanStepOverForwardTarget - p.ProductFloor) * p.BaseForwardMs;
        md.AppendLine(Invariant($"| mean-pooled step / base forward, profiled kernel time ({stepKernel:F0} / {p.BaseForwardMs:F0} ms) | {p.StepOverBase:F2} | | | the profile's own ratio, for the two floors below |"));
        md.AppendLine(Invariant($"| floor: the step's matrix products as they ran ({p.StepProductMs:F0} ms) + the base forward's other work ({p.BaseOtherMs:F0} ms), / base forward | {p.ProductFloor:F2} | | | ") +
                      (budget >= 0
                          ? Invariant($"≤ {MeanStepOverForwardTarget:F2} leaves {budget:F0} ms for the step's other work (backward elementwise, transposes, optimizer, forward beyond inference's); it spent {other:F0} ms |")
                          : Invariant($"above ≤ {MeanStepOverForwardTarget:F2} by {-budget:F0} ms before any other work; the step's other work took {other:F0} ms |")));
        md.AppendLine(Invariant($"| floor with the step's products at the base forward's rate ({flopRatio:F2} × {p.BaseProductMs:F0} ms) + its other work, / base forward | {p.RateFloor(flopRatio):F2} | | | ") +
                      Invariant($"the step's products ran at {flopRatio * p.BaseProductMs / p.StepProductMs:P0} of the forward's rate |"));
    }

    static void OpTable(StringBuilder md, IReadOnlyList<ProfiledOp> ops, string share)
    {
        md.AppendLine($"| op | nodes | ms / step | {share} |").AppendLine("|---|---:|---:|---:|");
        foreach (var o in ops)
            md.AppendLine(Invariant($"| {o.OpType} | {o.Nodes} | {o.MsPerStep:F1} | {o.Share:P1} |"));
        md.AppendLine();
    }

    static void Row(StringBuilder md, string name, SampleSummary x, string format, string target) =>
        md.AppendLine($"| {name} | {x.Median.ToString(format, CultureInfo.InvariantCulture)} | {x.Min.ToString(format, CultureInfo.InvariantCulture)} | {x.Max.ToString(format, CultureInfo.InvariantCulture)} | {target} |");

    static string Check(string target, bool met) => $"{target} {(met ? "✅" : "❌")}";

    static string Mib(long bytes) => (bytes / 1048576.0).ToString("F0", CultureInfo.InvariantCulture);

    static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
