using System.CommandLine;
using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Cli;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Artifacts;
using VbLoraOrt.GraphBuilder.Tasks;
using VbLoraOrt.Runner.Demo;
using VbLoraOrt.Runtime.Runs;

namespace VbLoraOrt.Runner;

/// <summary>
/// <c>vblora-run demo</c>, the main job end to end on the embedded defaults: fetch all-MiniLM-L6-v2, prepare artifacts
/// of the chosen method (the registry's default unless <c>--method</c>) on query,value, fine-tune a spam/ham classifier on the committed SpamAssassin sample, evaluate on its
/// held-out split, export the adapter and the merged model, and classify a few e-mails with the merged model.
/// </summary>
static class DemoCommand
{
    public static Command Create(TextWriter output, TextWriter error, CancellationToken cancel)
    {
        var steps = new Option<long>("--steps") { DefaultValueFactory = _ => 200, Description = "Training steps (200 = 2 epochs of the sample at batch 16)." }.AtLeast(1);
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 16, Description = "Examples per batch." }.AtLeast(1);
        var maxLength = new Option<int>("--max-length") { DefaultValueFactory = _ => 128, Description = "Tokens per e-mail." }.AtLeast(1);
        var baseline = new Option<bool>("--baseline") { Description = "Also train a head-only baseline (frozen encoder, same steps) and compare." };
        var compare = new Option<bool>("--compare") { Description = "Train every method (same steps, split and head) and write a markdown table (comparison.md) instead." };
        var data = new Option<string?>("--data") { Description = "Folder with train.jsonl and test.jsonl (default: the committed SpamAssassin sample)." };
        var outDir = new Option<string>("--out") { DefaultValueFactory = _ => Path.Combine("artifacts", "demo"), Description = "Output folder; the demo replaces only its own earlier output and refuses a folder holding other files." };
        var method = new Option<string>("--method")
        {
            DefaultValueFactory = _ => AdapterMethods.Default.Name,
            Description = "Adapter method: " + string.Join(", ", AdapterMethods.All.Select(d => $"{d.Name} ({d.Demo.Label})")) + ".",
        };
        method.AcceptOnlyFromAmong([.. AdapterMethods.Names]);
        var command = new Command("demo", $"Run the main job end to end: spam/ham fine-tuning of all-MiniLM-L6-v2 (default method {AdapterMethods.Default.DisplayName}).");
        foreach (Option o in new Option[] { steps, batch, maxLength, baseline, data, outDir, method, compare })
            command.Options.Add(o);
        command.SetAction(r => CommandGuard.Run(RunnerCli.Name, () => r.GetValue(compare)
            ? DemoComparison.Run(r.GetValue(steps), r.GetValue(batch), r.GetValue(maxLength), r.GetValue(data), r.GetValue(outDir)!, output, cancel)
            : Run(DemoMethod.Of(AdapterMethods.Find(r.GetValue(method)!)),
            r.GetValue(steps), r.GetValue(batch), r.GetValue(maxLength), r.GetValue(baseline), r.GetValue(data), r.GetValue(outDir)!, output, cancel), error));
        return command;
    }

    // The demo's configuration of a method (its descriptor's preset), and its learning rates: the method's groups as the
    // preset gives them, the head's 1e-2 for every method.
    internal sealed record DemoMethod(string Label, IAdapterMethod Method, Dictionary<string, float> LearningRates)
    {
        public const float HeadLearningRate = 1e-2f;

        public static DemoMethod Of(AdapterMethodDescriptor descriptor)
        {
            var preset = descriptor.Demo;
            var rates = new Dictionary<string, float>(preset.LearningRates, StringComparer.Ordinal) { [ParameterGroups.Head] = HeadLearningRate };
            return new DemoMethod(preset.Label, descriptor.Create(MethodOptionValues.For(descriptor, preset.Options), 42), rates);
        }
    }

    static int Run(DemoMethod demo, long steps, int batchSize, int maxLength, bool baseline, string? dataDir, string outDir, TextWriter output,
        CancellationToken cancel)
    {
        DemoOutput.Claim(outDir);
        dataDir ??= DemoData.SpamAssassinFolder;
        string trainFile = Path.Combine(dataDir, "train.jsonl"), testFile = Path.Combine(dataDir, "test.jsonl");
        string artifacts = Path.Combine(outDir, DemoOutput.Artifacts);
        var manifest = Prepare(demo, artifacts, maxLength, output);

        var adapted = Train(demo, artifacts, trainFile, testFile, Path.Combine(outDir, DemoOutput.Run), steps, batchSize, headOnly: false, output, cancel);
        if (adapted.Cancelled)
            return ExitCodes.Cancelled;
        TrainSummary? headOnly = null;
        if (baseline)
        {
            headOnly = Train(demo, artifacts, trainFile, testFile, Path.Combine(outDir, DemoOutput.Baseline), steps, batchSize, headOnly: true, output, cancel);
            if (headOnly.Cancelled)
                return ExitCodes.Cancelled;
        }

        var trained = TrainedRun.Open(Path.Combine(outDir, DemoOutput.Run));
        var adapter = trained.ExportAdapter(Path.Combine(outDir, DemoOutput.Adapter), overwrite: true); // the demo's own folder
        string merged = Path.Combine(outDir, DemoOutput.Merged, "spam-minilm.onnx");
        trained.ExportMerged(merged, overwrite: true);
        var mergedEval = ModelEvaluation.WithMergedModel(merged, null, testFile, batchSize: 32, maxLength);
        output.WriteLine($"exported {adapter.Path} ({adapter.FileBytes:N0} bytes) and {merged}");
        output.WriteLine();
        output.WriteLine("merged model on a few held-out e-mails:");
        var samples = File.ReadLines(testFile).Take(6).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement)
            .Select(e => (Text: e.GetProperty("text").GetString()!, Label: e.GetProperty("label").ToString())).ToList();
        foreach (var (p, truth) in Predictor.Predict(merged, null, samples.Select(s => s.Text).ToList(), maxLength).Zip(samples.Select(s => s.Label)))
            output.WriteLine($"  truth {truth,-5} → {InferCommand.Describe(p)}");

        output.WriteLine();
        output.WriteLine($"held-out accuracy ({adapted.FinalEval!.Count} e-mails of {testFile}):");
        output.WriteLine($"  {demo.Label}: {adapted.FinalEval.Accuracy:P2}  (loss {adapted.FinalEval.Loss:F4}, {steps} steps)");
        if (headOnly != null)
            output.WriteLine($"  head-only baseline (frozen encoder):      {headOnly.FinalEval!.Accuracy:P2}  (loss {headOnly.FinalEval.Loss:F4}, {steps} steps)");
        output.WriteLine($"  merged model (adapter folded into the weights): {mergedEval.Accuracy:P2}");
        output.WriteLine($"  stored {demo.Method.Name} adapter: {manifest.Counts.AdapterStored:F0} parameters, {adapter.FileBytes:N0} bytes on disk (trainable: {manifest.Counts.AdapterTrainable} adapter + {manifest.Counts.Head} head)");
        return ExitCodes.Ok;
    }

    /// <summary>Prepares the demo's artifacts for <paramref name="demo"/>: MiniLM, query and value, a mean-pooled two-class head.</summary>
    internal static ArtifactManifest Prepare(DemoMethod demo, string artifacts, int maxLength, TextWriter output)
    {
        var model = DemoModel.Ensure();
        output.WriteLine($"model: {model.ModelPath}");
        return ArtifactBuilder.Prepare(new PrepareOptions
        {
            ModelPath = model.ModelPath,
            OutputDirectory = artifacts,
            Overwrite = true, // DemoOutput.Claim: the folder is the demo's own
            Method = demo.Method,
            Targets = TargetSpec.FromNames(["query", "value"]),
            Task = new TaskOptions { Kind = TaskKind.Classify, NumLabels = 2, Pooling = Pooling.Mean },
            VocabPath = model.VocabPath,
            MaxLength = maxLength,
        }, output);
    }

    internal static TrainSummary Train(DemoMethod demo, string artifacts, string trainFile, string testFile, string runDir, long steps, int batchSize,
        bool headOnly, TextWriter output, CancellationToken cancel)
    {
        output.WriteLine(headOnly ? "— head-only baseline —" : $"— {demo.Label} fine-tuning —");
        var summary = ConsoleObserver.Run(output, observer => TrainingRun.Start(new TrainOptions
        {
            Artifacts = artifacts,
            TrainFile = trainFile,
            EvalFile = testFile,
            Out = runDir,
            MaxSteps = steps,
            BatchSize = batchSize,
            WarmupSteps = steps / 10,
            HeadOnly = headOnly,
            LearningRates = demo.LearningRates,
        }, observer, cancel, overwrite: true)); // DemoOutput.Claim: the folder is the demo's own, a re-run replaces its run
        LossCurve.Write(new RunFolder(runDir));
        return summary;
    }
}
