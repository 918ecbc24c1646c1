using System.CommandLine;
using System.Globalization;
using TorchSharp;
using VbLoraOrt.Bench;
using VbLoraOrt.Cli;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Sessions;

namespace VbLoraOrt.TorchReference;

/// <summary>
/// <c>vblora-torch</c>: an independent LibTorch (TorchSharp) reference of our VB-LoRA training step on all-MiniLM-L6-v2.
/// <c>check</c> compares the loss and every trainable gradient of our training graph with LibTorch autograd's;
/// <c>bench</c> times our step against LibTorch's. Both prepare the artifacts as <c>vblora-bench</c> does.
/// </summary>
static class TorchCommand
{
    public const string Name = "vblora-torch";

    /// <summary>Exit code of a <c>check</c> whose errors exceed the tolerance.</summary>
    public const int CheckFailed = 4;

    public static RootCommand Create(TextWriter output, TextWriter error, CancellationToken cancel)
    {
        var work = new Option<string>("--work") { DefaultValueFactory = _ => Path.Combine("artifacts", "torch"), Description = "Scratch folder: artifacts prepared per pooling, reports.", Recursive = true };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => 2, Description = "Intra-op threads of every ORT session, and LibTorch's set_num_threads.", Recursive = true };
        var attention = new Option<AttentionKind>("--attention") { DefaultValueFactory = _ => AttentionKind.Sdpa, Description = "LibTorch's attention: sdpa (scaled_dot_product_attention) or matmul (matmul + softmax).", Recursive = true };
        var root = new RootCommand("vblora-torch: LibTorch reference of the VB-LoRA training step on all-MiniLM-L6-v2 (gradients and speed).") { work, threads, attention };
        root.Subcommands.Add(CheckCommand(output, error, work, threads, attention));
        root.Subcommands.Add(BenchCommand(output, error, work, threads, attention, cancel));
        return root;
    }

    static Command CheckCommand(TextWriter output, TextWriter error, Option<string> work, Option<int> threads, Option<AttentionKind> attention)
    {
        var tolerance = new Option<double>("--tolerance") { DefaultValueFactory = _ => 1e-3, Description = "Largest max |ours − torch| / max |torch| accepted per tensor." };
        var report = new Option<string>("--report") { DefaultValueFactory = _ => Path.Combine("artifacts", "torch", "check.md"), Description = "Markdown tables to write." };
        var command = new Command("check", "Loss and every trainable gradient of our training graph against LibTorch autograd, mean- and CLS-pooled; exit 4 past the tolerance.") { tolerance, report };
        command.SetAction(r => CommandGuard.Run(Name, () =>
        {
            double limit = r.GetValue(tolerance);
            if (!(limit > 0))
                throw new UsageException($"--tolerance {limit}: must be positive.");
            torch.set_num_threads(r.GetValue(threads));
            var (weights, setups) = Load(r.GetValue(work)!, output);
            using var device = DeviceSessions.Open(new DeviceOptions { IntraOpThreads = r.GetValue(threads) });
            var text = new System.Text.StringBuilder();
            bool passed = true;
            foreach (var setup in setups)
            {
                output.WriteLine($"{setup.Folder.Manifest.Task.Pooling.ToString().ToLowerInvariant()}-pooled head:");
                var rows = GradientCheck.Compare(device, weights, setup, r.GetValue(attention), output);
                string table = GradientCheck.Table(rows, limit);
                text.AppendLine($"{setup.Folder.Manifest.Task.Pooling}-pooled head, batch {ReferenceSetup.BatchSize}×{ReferenceSetup.SequenceLength}, " +
                                $"LibTorch {torch.__version__}, attention {r.GetValue(attention).ToString().ToLowerInvariant()}:");
                text.AppendLine().AppendLine(table);
                output.WriteLine(table);
                passed &= GradientCheck.Passes(rows, limit);
            }
            WriteReport(r.GetValue(report)!, text.ToString(), output);
            output.WriteLine(passed ? $"check passed: every tensor within {limit.ToString(CultureInfo.InvariantCulture)}" : $"check FAILED: a tensor exceeds {limit.ToString(CultureInfo.InvariantCulture)} or its gradient's support differs");
            return passed ? ExitCodes.Ok : CheckFailed;
        }, error));
        return command;
    }

    static Command BenchCommand(TextWriter output, TextWriter error, Option<string> work, Option<int> threads, Option<AttentionKind> attention, CancellationToken cancel)
    {
        var iterations = new Option<int>("--iterations") { DefaultValueFactory = _ => 10, Description = "Timed iterations (each one run of every measured thing)." };
        var warmup = new Option<int>("--warmup") { DefaultValueFactory = _ => 2, Description = "Untimed warm-up iterations." };
        var report = new Option<string>("--report") { DefaultValueFactory = _ => Path.Combine("artifacts", "torch", "bench.md"), Description = "Markdown report to write." };
        var command = new Command("bench", "Our training step vs LibTorch's (forward + backward + AdamW), mean- and CLS-pooled, with the ORT base forward for scale, interleaved in one process.")
            { iterations, warmup, report };
        command.SetAction(r => CommandGuard.Run(Name, () =>
        {
            int n = r.GetValue(iterations), w = r.GetValue(warmup), t = r.GetValue(threads);
            if (n < 1 || w < 0 || t < 1)
                throw new UsageException("--iterations and --threads must be at least 1, --warmup at least 0.");
            torch.set_num_threads(t);
            var machine = MachineInfo.Current();
            var (weights, setups) = Load(r.GetValue(work)!, output);
            var (forward, steps) = StepComparison.Run(setups, weights, t, w, n, r.GetValue(attention), output, cancel);
            string loadAtEnd = File.Exists("/proc/loadavg") ? string.Join(", ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";
            string text = StepComparison.Report(string.Join(' ', [Name, .. r.Tokens.Select(k => k.Value)]), machine, loadAtEnd, t, w, n, r.GetValue(attention), forward, steps);
            WriteReport(r.GetValue(report)!, text, output);
            output.WriteLine(text);
            return ExitCodes.Ok;
        }, error));
        return command;
    }

    // The frozen encoder and both poolings' artifacts (mean first: the bench's headline is the mean-pooled step).
    static (MiniLmWeights Weights, IReadOnlyList<ReferenceSetup> Setups) Load(string work, TextWriter log)
    {
        var setups = new[] { Pooling.Mean, Pooling.Cls }.Select(p => ReferenceSetup.Prepare(work, p, log)).ToList();
        var weights = MiniLmWeights.Load(setups[0].ModelPath);
        log.WriteLine($"{setups[0].ModelPath}: {weights.Layers.Count} layers, hidden {weights.Hidden}, LayerNorm ε {weights.LayerNormEpsilon:R}");
        return (weights, setups);
    }

    static void WriteReport(string path, string text, TextWriter output)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        AtomicFile.WriteAllText(path, text);
        output.WriteLine($"wrote {path}");
    }
}
