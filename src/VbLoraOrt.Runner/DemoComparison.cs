using System.Diagnostics;
using System.Globalization;
using System.Text;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Cli;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runner.Demo;
using VbLoraOrt.Runtime.Runs;

namespace VbLoraOrt.Runner;

/// <summary>
/// <c>vblora-run demo --compare</c>: every registered method on the demo task with the same data, split, steps, batch,
/// warm-up and head, each with its demo preset; writes <c>comparison.md</c>, a markdown table of method, trainable and
/// stored adapter parameters, adapter file bytes (with head), held-out accuracy and training time (wall clock of the
/// training run, evaluations included).
/// </summary>
static class DemoComparison
{
    sealed record Row(string Label, long Trainable, double Stored, long FileBytes, double Accuracy, TimeSpan Time);

    public static int Run(long steps, int batchSize, int maxLength, string? dataDir, string outDir, TextWriter output, CancellationToken cancel)
    {
        DemoOutput.Claim(outDir);
        dataDir ??= DemoData.SpamAssassinFolder;
        string trainFile = Path.Combine(dataDir, "train.jsonl"), testFile = Path.Combine(dataDir, "test.jsonl");
        var rows = new List<Row>();
        foreach (var descriptor in AdapterMethods.All)
        {
            var demo = DemoCommand.DemoMethod.Of(descriptor);
            string folder = Path.Combine(outDir, DemoOutput.Compare, descriptor.Name);
            var manifest = DemoCommand.Prepare(demo, Path.Combine(folder, DemoOutput.Artifacts), maxLength, output);
            var clock = Stopwatch.StartNew();
            var summary = DemoCommand.Train(demo, Path.Combine(folder, DemoOutput.Artifacts), trainFile, testFile, Path.Combine(folder, DemoOutput.Run),
                steps, batchSize, headOnly: false, output, cancel);
            clock.Stop();
            if (summary.Cancelled)
                return ExitCodes.Cancelled;
            var adapter = TrainedRun.Open(Path.Combine(folder, DemoOutput.Run)).ExportAdapter(Path.Combine(folder, DemoOutput.Adapter));
            rows.Add(new Row(demo.Label, manifest.Counts.AdapterTrainable, manifest.Counts.AdapterStored, adapter.FileBytes, summary.FinalEval!.Accuracy ?? double.NaN, clock.Elapsed));
        }
        string table = Table(rows, steps, batchSize, testFile);
        AtomicFile.WriteAllText(Path.Combine(outDir, DemoOutput.ComparisonTable), table);
        output.WriteLine();
        output.Write(table);
        return ExitCodes.Ok;
    }

    static string Table(IReadOnlyList<Row> rows, long steps, int batchSize, string testFile)
    {
        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.AppendLine(c, $"Every method on the demo task: {steps} steps, batch {batchSize}, warm-up {steps / 10}, mean-pooled head, held-out split {Path.GetFileName(testFile)}.");
        text.AppendLine();
        text.AppendLine("| method | trainable adapter parameters | stored adapter parameters | adapter file with head | held-out accuracy | training time |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var r in rows)
            text.AppendLine(c, $"| {r.Label} | {r.Trainable:N0} | {r.Stored:N0} | {r.FileBytes:N0} B | {r.Accuracy:P2} | {r.Time:m\\:ss} |");
        return text.ToString();
    }
}
