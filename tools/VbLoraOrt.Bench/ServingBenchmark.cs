using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.ML.OnnxRuntime;
using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Files;
using VbLoraOrt.Adapters.Methods.VbLora;
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
/// model with an adapter active against the merged model (task output only), timed interleaved at batch 1 and 16 ×
/// sequence 128 on CPU; the time to load an adapter (read, validate, <c>OrtLoraAdapter</c>); resident memory per loaded
/// adapter (100 loaded, each run once); and the adapter file sizes. Every registered method in its demo configuration,
/// and VB-LoRA once more on a frozen shared bank (the first row's), whose per-user adapters hold no bank. Adapter values
/// are seeded, not trained: latency and size do not depend on them.
/// </summary>
static class ServingBenchmark
{
    const int Sequence = 128, Loaded = 100;

    public static string Run(string modelPath, string vocabPath, string workDirectory, int iterations, int threads, TextWriter output)
    {
        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"Serving vs merged on {Environment.ProcessorCount} cores, {threads} intra-op threads, medians of {iterations} interleaved pairs (the machine was shared):");
        report.AppendLine();
        report.AppendLine("| method | merged 1×128 ms | serving 1×128 ms | ratio | merged 16×128 ms | serving 16×128 ms | ratio | adapter load ms | memory per loaded adapter KiB | .onnx_adapter bytes |");
        report.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var bench = new Bench(modelPath, vocabPath, workDirectory, iterations, threads, output, report);
        foreach (var descriptor in AdapterMethods.All)
        {
            var preset = new Dictionary<string, object?>(descriptor.Demo.Options);
            var first = bench.Row(descriptor.Demo.Label, descriptor.Name, descriptor.Create(MethodOptionValues.For(descriptor, preset), 42));
            if (descriptor.Options.All(o => o.Name != VbLoraDescriptor.FrozenBankOption))
                continue;
            // The bank of that adapter frozen and shared: each further user's adapter is only its top-k and head.
            string bank = Path.Combine(workDirectory, "serving-" + descriptor.Name, "bank.safetensors");
            AdapterFile.Save(bank, first.Manifest, first.Values);
            preset[VbLoraDescriptor.FrozenBankOption] = bank;
            bench.Row(descriptor.Demo.Label + ", shared frozen bank", descriptor.Name + "-shared-bank",
                descriptor.Create(MethodOptionValues.For(descriptor, preset), 42));
        }
        return report.ToString();
    }

    // One row of the table: prepare, merge, export the serving model and 100 adapters, measure.
    sealed record Bench(string ModelPath, string VocabPath, string WorkDirectory, int Iterations, int Threads, TextWriter Output, StringBuilder Report)
    {
        public (ArtifactManifest Manifest, Dictionary<string, float[]> Values) Row(string label, string name, IAdapterMethod method)
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
            string merged = Path.Combine(dir, "merged", "merged.onnx"), serving = Path.Combine(dir, "serving");
            MergedModelExporter.Export(Path.Combine(dir, "artifacts"), manifest, values, merged, taskOutputOnly: true);
            ServingExporter.Export(Path.Combine(dir, "artifacts"), manifest, serving);
            var adapters = Enumerable.Range(0, Loaded).Select(i =>
            {
                string path = Path.Combine(dir, "adapters", $"user{i}{OnnxAdapterFile.Extension}");
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                ServingAdapter.Write(path, ServingAdapter.Create(manifest, Values(manifest, seed: 100 + i)));
                return path;
            }).ToList();
            long fileBytes = new FileInfo(adapters[0]).Length;

            var (loadMs, memoryKib) = MeasureLoads(serving, adapters);
            var one = MeasureLatency(merged, serving, adapters, 1, Iterations, Threads);
            var sixteen = MeasureLatency(merged, serving, adapters, 16, Iterations, Threads);
            string line = string.Create(CultureInfo.InvariantCulture,
                $"| {label} | {one.Merged:F1} | {one.Serving:F1} | {one.Serving / one.Merged:F3} | {sixteen.Merged:F1} | {sixteen.Serving:F1} | {sixteen.Serving / sixteen.Merged:F3} | {loadMs:F2} | {memoryKib:F0} | {fileBytes:N0} |");
            Report.AppendLine(line);
            Output.WriteLine(line);
            return (manifest, values);
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

    // Median ms per run of the merged model and of the serving model (adapters round-robin), timed in alternation.
    static (double Merged, double Serving) MeasureLatency(string merged, string serving, IReadOnlyList<string> adapterPaths, int batch, int iterations, int threads)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = threads, InterOpNumThreads = 1,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var mergedSession = new InferenceSession(merged, options);
        using var servingSession = new InferenceSession(Path.Combine(serving, ServingManifest.ModelFileName), options);
        var adapters = adapterPaths.Take(8).Select(p => OrtLoraAdapter.Create(p, null)).ToList();
        var runOptions = adapters.Select(a => { var o = new RunOptions(); o.AddActiveLoraAdapter(a); return o; }).ToList();
        using var plain = new RunOptions();
        var random = new Random(5);
        long[] ids = Enumerable.Range(0, batch * Sequence).Select(i => i % Sequence == 0 ? 101L : random.Next(1000, 29000)).ToArray();
        long[] mask = Enumerable.Repeat(1L, batch * Sequence).ToArray();
        long[] types = new long[batch * Sequence];
        string[] names = ["input_ids", "attention_mask", "token_type_ids"];
        var inputs = new[] { ids, mask, types }.Select(a => OrtValue.CreateTensorValueFromMemory(a, [batch, Sequence])).ToArray();
        try
        {
            double Time(InferenceSession session, RunOptions run)
            {
                long start = Stopwatch.GetTimestamp();
                using var results = session.Run(run, names, inputs, ["logits"]);
                return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            for (int i = 0; i < 2; i++)
            {
                Time(mergedSession, plain);
                Time(servingSession, runOptions[i % runOptions.Count]);
            }
            var m = new List<double>();
            var s = new List<double>();
            for (int i = 0; i < iterations; i++)
            {
                m.Add(Time(mergedSession, plain));
                s.Add(Time(servingSession, runOptions[i % runOptions.Count]));
            }
            return (SampleSummary.Of(m).Median, SampleSummary.Of(s).Median);
        }
        finally
        {
            foreach (var v in inputs) v.Dispose();
            runOptions.ForEach(o => o.Dispose());
            adapters.ForEach(a => a.Dispose());
        }
    }

    static long Resident()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return File.ReadLines("/proc/self/status").Where(l => l.StartsWith("RssAnon:", StringComparison.Ordinal) || l.StartsWith("RssFile:", StringComparison.Ordinal))
            .Sum(l => long.Parse(l.Split(':')[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024);
    }
}
