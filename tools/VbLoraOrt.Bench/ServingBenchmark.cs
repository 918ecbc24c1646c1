using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.ML.OnnxRuntime;
using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Files;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Artifacts;
using VbLoraOrt.GraphBuilder.Merge;
using VbLoraOrt.GraphBuilder.Serving;
using VbLoraOrt.GraphBuilder.Tasks;
using VbLoraOrt.OrtFormats.Adapters;
using VbLoraOrt.Runtime.Serving;

namespace VbLoraOrt.Bench;

/// <summary>
/// <c>vblora-bench serving</c>: per method on all-MiniLM-L6-v2 (query and value, mean-pooled 2-class head), the serving
/// model with an adapter active against the merged model (task output only), timed in interleaved pairs at batch 1
/// and 16 × sequence 128 on CPU, in rounds that alternate the batch sizes (<see cref="InterleavedLatency"/>); the time to load an adapter (read, validate, <c>OrtLoraAdapter</c>); resident memory per loaded
/// adapter (100 loaded, each run once); and the adapter file sizes. Every registered method in its demo configuration,
/// and once more in each method's shared variant (<see cref="AdapterMethodDescriptor.Shared"/>: VB-LoRA on the first
/// row's bank, frozen), whose per-user adapters hold no bank. Adapter values
/// are seeded, not trained: latency and size do not depend on them. A last, control row times the first row's merged
/// model against a second session of itself: two sessions of one graph differ by a few percent (memory placement),
/// which bounds what any row's ratio can show.
/// </summary>
static class ServingBenchmark
{
    const int Sequence = 128, Loaded = 100;

    /// <param name="form">How the serving models apply the factors.</param>
    /// <param name="rows">Rows to run by name (a method's, or it with <c>-shared</c> for its shared variant); all when empty.</param>
    public static string Run(string modelPath, string vocabPath, string workDirectory, LatencyPlan plan, ServingFormChoice form, int threads, IReadOnlySet<string> rows, TextWriter output)
    {
        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture,
            $"Serving vs merged on {Environment.ProcessorCount} cores, {threads} intra-op threads; {plan.Rounds} rounds of {plan.PairsAtBatch1} interleaved pairs at 1×128 and {plan.PairsAtBatch16} at 16×128; {(plan.Clock == LatencyClock.Cpu ? "times are process CPU time per run" : "times are wall-clock")}; ratio = median of the per-pair ratios, rounds = range of the rounds' medians:");
        report.AppendLine();
        report.AppendLine("| method | merged 1×128 ms | serving 1×128 ms | ratio 1×128 | rounds 1×128 | merged 16×128 ms | serving 16×128 ms | ratio 16×128 | rounds 16×128 | adapter load ms | memory per loaded adapter KiB | .onnx_adapter bytes |");
        report.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var bench = new Bench(modelPath, vocabPath, workDirectory, plan, form, threads, output, report);
        bool Wanted(string name) => rows.Count == 0 || rows.Contains(name);
        string? firstMerged = null;
        foreach (var descriptor in AdapterMethods.All)
        {
            var preset = new Dictionary<string, object?>(descriptor.Demo.Options);
            var method = descriptor.Create(MethodOptionValues.For(descriptor, preset), 42);
            string sharedName = descriptor.Name + "-shared";
            if (!Wanted(descriptor.Name) && !(descriptor.Shared != null && Wanted(sharedName)))
                continue;
            var first = bench.Row(descriptor.Demo.Label, descriptor.Name, method, timed: Wanted(descriptor.Name));
            if (Wanted(descriptor.Name))
                firstMerged ??= Bench.MergedPath(workDirectory, descriptor.Name);
            if (descriptor.Shared is not { } shared || !Wanted(sharedName))
                continue;
            // The shared part of that adapter frozen: each further user's adapter holds only what stays its own.
            string file = Path.Combine(workDirectory, "serving-" + descriptor.Name, "shared.safetensors");
            AdapterFile.Save(file, first.Manifest, first.Values);
            preset[shared.Option] = file;
            bench.Row($"{descriptor.Demo.Label}, {shared.Label}", sharedName, descriptor.Create(MethodOptionValues.For(descriptor, preset), 42), timed: true);
            firstMerged ??= Bench.MergedPath(workDirectory, sharedName);
        }
        if (firstMerged != null)
            bench.Control(firstMerged);
        return report.ToString();
    }

    // One row of the table: prepare, merge, export the serving model and 100 adapters, measure.
    sealed record Bench(string ModelPath, string VocabPath, string WorkDirectory, LatencyPlan Plan, ServingFormChoice Form, int Threads, TextWriter Output, StringBuilder Report)
    {
        // Only prepared (not measured) when !timed: the row another row's shared variant is made from.
        public (ArtifactManifest Manifest, Dictionary<string, float[]> Values) Row(string label, string name, IAdapterMethod method, bool timed)
        {
            string dir = Path.Combine(WorkDirectory, "serving-" + name);
            foreach (string scratch in new[] { "artifacts", "merged", "serving", "adapters" }.Select(d => Path.Combine(dir, d)).Where(Directory.Exists))
                Directory.Delete(scratch, recursive: true); // the benchmark's own scratch folders
            Output.WriteLine($"{label}: preparing…");
            var manifest = ArtifactBuilder.Prepare(new PrepareOptions
            {
                ModelPath = ModelPath,
                VocabPath = VocabPath,
                OutputDirectory = Path.Combine(dir, "artifacts"),
                Method = method,
                Targets = TargetSpec.FromNames(["query", "value"]),
                Task = new TaskOptions { NumLabels = 2, Pooling = Pooling.Mean },
            });
            var values = Values(manifest, seed: 1);
            if (!timed)
                return (manifest, values);
            string merged = MergedPath(WorkDirectory, name), serving = Path.Combine(dir, "serving");
            MergedModelExporter.Export(Path.Combine(dir, "artifacts"), manifest, values, merged, taskOutputOnly: true);
            ServingExporter.Export(Path.Combine(dir, "artifacts"), manifest, serving, Form);
            var adapters = Enumerable.Range(0, Loaded).Select(i =>
            {
                string path = Path.Combine(dir, "adapters", $"user{i}{OnnxAdapterFile.Extension}");
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                ServingAdapter.Write(path, ServingAdapter.Create(manifest, Values(manifest, seed: 100 + i)));
                return path;
            }).ToList();
            long fileBytes = new FileInfo(adapters[0]).Length;

            var (loadMs, memoryKib) = MeasureLoads(serving, adapters);
            var (one, sixteen) = MeasureLatency(merged, Path.Combine(serving, ServingManifest.ModelFileName), adapters, Plan, Threads);
            Line(label, one, sixteen, string.Create(CultureInfo.InvariantCulture, $"{loadMs:F2} | {memoryKib:F0} | {fileBytes:N0}"));
            return (manifest, values);
        }

        /// <summary>
        /// The control row: <paramref name="merged"/> against a second session of itself, timed as the rows are. Its
        /// distance from 1 is what two sessions of one graph differ by on this machine (memory placement, pages), the
        /// resolution of every ratio above it.
        /// </summary>
        public void Control(string merged)
        {
            Output.WriteLine("control: the merged model against a second session of itself…");
            var (one, sixteen) = MeasureLatency(merged, merged, [], Plan, Threads);
            Line("control: a merged model against a second session of itself", one, sixteen, "– | – | –");
        }

        public static string MergedPath(string workDirectory, string name) => Path.Combine(workDirectory, "serving-" + name, "merged", "merged.onnx");

        void Line(string label, LatencyResult one, LatencyResult sixteen, string rest)
        {
            string line = string.Create(CultureInfo.InvariantCulture,
                $"| {label} | {one.MergedMs:F1} | {one.ServingMs:F1} | {one.Ratio:F3} | {one.RoundMin:F3}–{one.RoundMax:F3} | {sixteen.MergedMs:F1} | {sixteen.ServingMs:F1} | {sixteen.Ratio:F3} | {sixteen.RoundMin:F3}–{sixteen.RoundMax:F3} | {rest} |");
            Report.AppendLine(line);
            Output.WriteLine(line);
        }
    }

    // Adapter values: the method's initial values with the bank or B far from zero, and a head, from a seed.
    static Dictionary<string, float[]> Values(ArtifactManifest manifest, long seed) =>
        manifest.Trainables.ToDictionary(t => t.Name, t => new SeededRandom(seed, t.Name).Uniform(t.ElementCount, -0.1, 0.1));

    // Median time of ServingSession.Load (read, validate, OrtLoraAdapter.Create) over every adapter; and resident
    // memory per adapter: all loaded and each run once at 1×128, then what disposing them gives back (the session's
    // arena and the managed heap drift while they load and run, not while they are released).
    static (double LoadMs, double MemoryKib) MeasureLoads(string serving, IReadOnlyList<string> adapters)
    {
        using var session = ServingSession.Open(serving);
        var times = new List<double>();
        for (int i = 0; i < adapters.Count; i++)
        {
            long start = Stopwatch.GetTimestamp();
            session.Load($"user{i}", adapters[i]);
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        string text = string.Join(' ', Enumerable.Repeat("serving many users from one base model", 20));
        for (int i = 0; i < adapters.Count; i++)
            session.Run($"user{i}", [text]);
        long held = Resident();
        for (int i = 0; i < adapters.Count; i++)
            session.Unload($"user{i}");
        long released = Resident();
        return (SampleSummary.Of(times).Median, (held - released) / 1024.0 / adapters.Count);
    }

    // Both batch sizes, in alternating rounds so that each sees the same stretches of the machine's load; `serving` is
    // the model file run with the adapters (none: as it is).
    static (LatencyResult One, LatencyResult Sixteen) MeasureLatency(string merged, string serving, IReadOnlyList<string> adapterPaths, LatencyPlan plan, int threads)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = threads, InterOpNumThreads = 1,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var mergedSession = new InferenceSession(merged, options);
        using var servingSession = new InferenceSession(serving, options);
        using var one = new InterleavedLatency(mergedSession, servingSession, adapterPaths.Take(8), 1, Sequence, plan.Clock);
        using var sixteen = new InterleavedLatency(mergedSession, servingSession, adapterPaths.Take(8), 16, Sequence, plan.Clock);
        for (int round = 0; round < plan.Rounds; round++)
        {
            one.Round(plan.PairsAtBatch1);
            sixteen.Round(plan.PairsAtBatch16);
        }
        return (one.Result(), sixteen.Result());
    }

    static long Resident()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return File.ReadLines("/proc/self/status").Where(l => l.StartsWith("RssAnon:", StringComparison.Ordinal) || l.StartsWith("RssFile:", StringComparison.Ordinal))
            .Sum(l => long.Parse(l.Split(':')[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024);
    }
}
