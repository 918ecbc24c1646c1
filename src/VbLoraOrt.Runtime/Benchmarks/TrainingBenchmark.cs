using System.Diagnostics;
using VbLoraOrt.GraphBuilder;
using VbLoraOrt.GraphBuilder.AdapterFiles;
using VbLoraOrt.GraphBuilder.Artifacts;
using VbLoraOrt.GraphBuilder.Checkpoints;
using VbLoraOrt.GraphBuilder.Merge;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Data;
using VbLoraOrt.Runtime.Runs;
using VbLoraOrt.Runtime.Sessions;
using VbLoraOrt.Runtime.Training;

namespace VbLoraOrt.Runtime.Benchmarks;

/// <summary>
/// <c>vblora-run bench</c>: measures, in one process, VB-LoRA (query,value; bank 256×128, r 4, k 2) training on
/// all-MiniLM-L6-v2 against plain ORT inference, on the product's own session setup (<see cref="DeviceSessions"/>:
/// per-session pools, no spinning). Things compared are timed interleaved, iteration by iteration, so load on a
/// shared machine hits both sides alike; the ratios are the numbers to trust, absolute times vary with the load.
/// </summary>
/// <remarks>
/// Steps: (1) <c>vblora-graph prepare</c> and (2) a short <c>vblora-run train</c> as child processes (wall time, peak
/// RSS); (3) adapter sizes; (4) matrix-product FLOPs of forward and step counted from the graphs; (5) forward vs step
/// on a fixed batch; (6) real-token throughput bucketed vs fixed padding; (7) merged vs base latency; (8) an ONNX
/// Runtime profile of the step.
/// </remarks>
public static class TrainingBenchmark
{
    /// <summary>The adapter configuration measured.</summary>
    public const string AdapterDescription = "VB-LoRA query,value; bank 256×128, r 4, k 2; mean-pooled 2-class head";

    static readonly Dictionary<string, float> LearningRates = new()
    {
        [ParameterGroups.Bank] = 1e-3f, [ParameterGroups.Logits] = 1e-2f, [ParameterGroups.Head] = 4e-3f,
    };

    /// <summary>Runs every measurement; progress goes to <paramref name="log"/>.</summary>
    public static BenchmarkResult Run(BenchmarkOptions options, TextWriter log, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(log);
        options.Validate();
        var machine = MachineInfo.Current();
        Directory.CreateDirectory(options.WorkDirectory);
        string artifacts = Path.Combine(options.WorkDirectory, "artifacts");

        log.WriteLine($"machine: {machine.Cpu}, {machine.LogicalCores} logical cores, ONNX Runtime {machine.OrtVersion}, load {machine.LoadAverage}");
        var prepare = Measure(options.GraphProgram, log, "prepare", "--model", options.ModelPath, "--targets", "query,value", "--num-vectors", "256",
            "--vector-length", "128", "--rank", "4", "--topk", "2", "--pooling", "mean", "--vocab", options.VocabPath,
            "--max-length", $"{options.SequenceLength}", "--out", artifacts);
        var folder = ArtifactFolder.Open(artifacts);
        var initial = Checkpoint.Load(folder.InitialCheckpoint, folder.Identity);
        var training = Measure(options.RunProgram, log, "train", "--artifacts", artifacts, "--train", options.TrainFile,
            "--out", Path.Combine(options.WorkDirectory, "rss-run"), "--max-steps", "3", "--batch-size", $"{options.BatchSize}",
            "--max-length", $"{options.SequenceLength}", "--padding", "maxlength", "--threads", $"{options.Threads}", "--checkpoint-every", "1000");
        cancel.ThrowIfCancellationRequested();

        var adapters = AdapterSizes(folder, initial, options.WorkDirectory);
        var dims = new Dictionary<string, long> { ["batch"] = options.BatchSize, ["sequence"] = options.SequenceLength };
        double forwardGflop = Gflop(Path.Combine(artifacts, ArtifactBuilder.BaseModelFile), dims, log);
        double stepGflop = Gflop(folder.TrainingModel, dims, log);

        var tokenizer = folder.LoadTokenizer();
        var data = TrainingData.Load(options.TrainFile, folder.Manifest.Task, tokenizer, options.SequenceLength, skipBadRows: false, classNames: null);
        var fixedBatches = data.Batches(Batching(options, PaddingMode.MaxLength), 0, tokenizer.PaddingTokenId, folder.Manifest.DataInputs);
        var bucketedBatches = data.Batches(Batching(options, PaddingMode.Longest), 0, tokenizer.PaddingTokenId, folder.Manifest.DataInputs);
        var fixedBatch = fixedBatches.First(b => b.Feeds[0].Shape[0] == options.BatchSize).Feeds;

        SampleSummary forwardMs, stepMs, ratio;
        ThroughputResult throughput;
        MergedLatencyResult merged;
        using (var device = DeviceSessions.Open(new DeviceOptions { IntraOpThreads = options.Threads }))
        using (var baseModel = BoundForward.Open(device, Path.Combine(artifacts, ArtifactBuilder.BaseModelFile), fixedBatch))
        {
            using (var state = TrainingState.Create(device, folder.Manifest.Trainables, initial))
            using (var trainer = Trainer.Create(state, folder.TrainingModel, folder.OptimizerModel))
            {
                var settings = Settings(folder);
                log.WriteLine($"forward vs step at {options.BatchSize}×{options.SequenceLength}: {options.WarmupIterations} warm-up + {options.Iterations} interleaved iterations");
                var (f, s) = Interleaved(options, baseModel.Run, () => Step(trainer, fixedBatch, settings), cancel);
                (forwardMs, stepMs, ratio) = (SampleSummary.Of(f).Scaled(1e3), SampleSummary.Of(s).Scaled(1e3), SampleSummary.Of(s.Zip(f, (x, y) => x / y)));
                log.WriteLine($"  forward {forwardMs.Median:F0} ms, step {stepMs.Median:F0} ms, step/forward {ratio.Median:F2}");
                throughput = Throughput(options, trainer, settings, bucketedBatches, fixedBatches, log, cancel);
            }
            merged = MergedLatency(options, device, baseModel, folder, initial, fixedBatch, log, cancel);
        }
        var profile = ProfileStep(options, folder, initial, fixedBatch, log);
        return new BenchmarkResult
        {
            Machine = machine,
            Settings = new BenchmarkSettings(Path.GetFileName(Path.GetDirectoryName(options.ModelPath)) ?? options.ModelPath, AdapterDescription,
                options.BatchSize, options.SequenceLength, options.Threads, options.WarmupIterations, options.Iterations,
                Path.GetFileName(options.TrainFile), throughput.BatchesTimed),
            ForwardMs = forwardMs, StepMs = stepMs, StepOverForward = ratio, ForwardGflop = forwardGflop, StepGflop = stepGflop,
            Throughput = throughput, Merged = merged, Prepare = prepare, Training = training, Adapters = adapters, Profile = profile,
        };
    }

    static ChildMeasure Measure(ProgramCommand program, TextWriter log, params string[] arguments)
    {
        var args = program.With(arguments);
        log.WriteLine($"child: {program} {arguments[0]} …");
        var run = ChildProcessMeter.Run(program.FileName, args);
        log.WriteLine($"  {run.Wall.TotalSeconds:F1} s, peak RSS {run.PeakRssBytes / 1048576.0:F0} MiB");
        return new ChildMeasure(run.Wall.TotalMilliseconds, run.PeakRssBytes, $"{Path.GetFileName(program.ToString())} {string.Join(' ', arguments)}");
    }

    static double Gflop(string modelPath, IReadOnlyDictionary<string, long> dims, TextWriter log)
    {
        var count = MatMulFlops.Count(OnnxModel.Load(modelPath), dims);
        log.WriteLine($"{Path.GetFileName(modelPath)}: {count.Flops / 1e9:F1} GFLOP in {count.Products} matrix products" +
                      (count.Unresolved.Count > 0 ? $"; {count.Unresolved.Count} products of unknown shape not counted (e.g. {count.Unresolved[0]})" : ""));
        return count.Flops / 1e9;
    }

    static BatchOptions Batching(BenchmarkOptions options, PaddingMode padding) =>
        new() { BatchSize = options.BatchSize, MaxLength = options.SequenceLength, Padding = padding, Seed = 42 };

    static Dictionary<string, GroupHyperparameters> Settings(ArtifactFolder folder) =>
        folder.Manifest.Trainables.Select(t => t.Group).Distinct()
            .ToDictionary(g => g, g => new GroupHyperparameters(LearningRates.GetValueOrDefault(g, 1e-3f), 0f));

    static void Step(Trainer trainer, IReadOnlyList<BatchTensor> batch, IReadOnlyDictionary<string, GroupHyperparameters> settings)
    {
        var result = trainer.Step(batch, settings);
        if (!result.Applied)
            throw new InvalidOperationException($"benchmark step was rejected: {result.Rejection}");
    }

    // Warm-up, then per iteration one run of each, alternating which goes first so neither always meets a cold cache.
    static (List<double> A, List<double> B) Interleaved(BenchmarkOptions options, Action a, Action b, CancellationToken cancel)
    {
        for (int i = 0; i < options.WarmupIterations; i++)
        {
            a();
            b();
        }
        List<double> timesA = [], timesB = [];
        for (int i = 0; i < options.Iterations; i++)
        {
            cancel.ThrowIfCancellationRequested();
            if (i % 2 == 0)
            {
                timesA.Add(Time(a));
                timesB.Add(Time(b));
            }
            else
            {
                timesB.Add(Time(b));
                timesA.Add(Time(a));
            }
        }
        return (timesA, timesB);
    }

    static double Time(Action action)
    {
        long start = Stopwatch.GetTimestamp();
        action();
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    static ThroughputResult Throughput(BenchmarkOptions options, Trainer trainer, Dictionary<string, GroupHyperparameters> settings,
        List<(IReadOnlyList<BatchTensor> Feeds, long Tokens, string Source)> bucketed,
        List<(IReadOnlyList<BatchTensor> Feeds, long Tokens, string Source)> fixedPadding, TextWriter log, CancellationToken cancel)
    {
        int count = options.ThroughputBatches == 0 ? Math.Min(bucketed.Count, fixedPadding.Count)
            : Math.Min(options.ThroughputBatches, Math.Min(bucketed.Count, fixedPadding.Count));
        log.WriteLine($"real-token throughput: {count} batches of each padding mode, interleaved (batch order of epoch 0)");
        double bucketedSeconds = 0, fixedSeconds = 0;
        long bucketedTokens = 0, fixedTokens = 0;
        for (int i = 0; i < count; i++)
        {
            cancel.ThrowIfCancellationRequested();
            var (b, f) = (bucketed[i], fixedPadding[i]);
            bucketedSeconds += Time(() => Step(trainer, b.Feeds, settings));
            fixedSeconds += Time(() => Step(trainer, f.Feeds, settings));
            bucketedTokens += b.Tokens;
            fixedTokens += f.Tokens;
        }
        double bucketedRate = bucketedTokens / bucketedSeconds, fixedRate = fixedTokens / fixedSeconds;
        double bucketedEfficiency = PaddingEfficiency(bucketed), fixedEfficiency = PaddingEfficiency(fixedPadding);
        log.WriteLine($"  bucketed {bucketedRate:F0} real tokens/s, fixed {fixedRate:F0}: ×{bucketedRate / fixedRate:F2} " +
                      $"(epoch padding efficiency {bucketedEfficiency:P0} vs {fixedEfficiency:P0})");
        return new ThroughputResult(bucketedRate, fixedRate, bucketedRate / fixedRate, count, bucketedEfficiency, fixedEfficiency);
    }

    static double PaddingEfficiency(List<(IReadOnlyList<BatchTensor> Feeds, long Tokens, string Source)> batches) =>
        (double)batches.Sum(b => b.Tokens) / batches.Sum(b => b.Feeds[0].Shape[0] * b.Feeds[0].Shape[1]);

    static MergedLatencyResult MergedLatency(BenchmarkOptions options, DeviceSessions device, BoundForward baseModel, ArtifactFolder folder,
        Checkpoint initial, IReadOnlyList<BatchTensor> batch, TextWriter log, CancellationToken cancel)
    {
        string path = Path.Combine(options.WorkDirectory, "merged", "model.onnx");
        // The initial adapter is non-zero (random bank, random logits), so the merged weights differ from the base's.
        MergedModelExporter.Export(folder.Directory, folder.Manifest, initial.Tensors.ToDictionary(t => t.Name, t => t.Values), path);
        using var merged = BoundForward.Open(device, path, batch);
        log.WriteLine($"merged vs base inference: {options.WarmupIterations} warm-up + {options.Iterations} interleaved iterations");
        var (b, m) = Interleaved(options, baseModel.Run, merged.Run, cancel);
        var result = new MergedLatencyResult(SampleSummary.Of(b).Scaled(1e3), SampleSummary.Of(m).Scaled(1e3), SampleSummary.Of(m.Zip(b, (x, y) => x / y)));
        log.WriteLine($"  base {result.BaseMs.Median:F0} ms, merged {result.MergedMs.Median:F0} ms, merged/base {result.MergedOverBase.Median:F3}");
        return result;
    }

    static IReadOnlyList<AdapterSize> AdapterSizes(ArtifactFolder folder, Checkpoint initial, string workDirectory)
    {
        // The stored form's size does not depend on the values; the initial ones stand in for trained ones.
        var summary = AdapterFile.Save(Path.Combine(workDirectory, "adapter" + AdapterFile.Extension), folder.Manifest,
            initial.Tensors.ToDictionary(t => t.Name, t => t.Values));
        const int loraRank = 8;
        long loraParameters = folder.Manifest.Targets.Sum(t => (long)loraRank * (t.InFeatures + t.OutFeatures));
        return
        [
            new AdapterSize("vblora (h 256, b 128, r 4, k 2; + head)", folder.Manifest.Counts.AdapterStored + folder.Manifest.Counts.Head, summary.FileBytes, Measured: true),
            new AdapterSize($"LoRA r {loraRank} (A, B as F32; no head)", loraParameters, loraParameters * sizeof(float), Measured: false),
        ];
    }

    static StepProfileResult ProfileStep(BenchmarkOptions options, ArtifactFolder folder, Checkpoint initial, IReadOnlyList<BatchTensor> batch, TextWriter log)
    {
        string directory = Path.Combine(options.WorkDirectory, "profile");
        if (Directory.Exists(directory))
            Directory.Delete(directory, recursive: true);
        Directory.CreateDirectory(directory);
        log.WriteLine($"profiling {options.ProfiledSteps} training steps (ONNX Runtime profiler) …");
        var settings = Settings(folder);
        using (var device = DeviceSessions.Open(new DeviceOptions { IntraOpThreads = options.Threads, ProfileFilePrefix = Path.Combine(directory, "step") }))
        using (var state = TrainingState.Create(device, folder.Manifest.Trainables, initial))
        using (var trainer = Trainer.Create(state, folder.TrainingModel, folder.OptimizerModel))
        {
            for (int i = 0; i < options.ProfiledSteps + 1; i++)
                Step(trainer, batch, settings);
        } // sessions write their traces when disposed

        var profile = OrtProfile.Read(Directory.GetFiles(directory, "*.json"), skipRuns: 1);
        if (profile.Runs == 0 || profile.KernelMicroseconds <= 0)
            throw new InvalidOperationException($"{directory}: ONNX Runtime wrote no profiled runs; the step profile is missing.");
        int steps = options.ProfiledSteps;
        double kernel = profile.KernelMicroseconds;
        var top = profile.Ops.Take(10).Select(o => new ProfiledOp(o.OpType, o.Nodes, o.Microseconds / steps / 1e3, o.Microseconds / kernel)).ToList();
        var result = new StepProfileResult(steps, profile.RunMicroseconds / steps / 1e3, profile.BackwardMicroseconds / kernel, top);
        log.WriteLine($"  {result.StepMs:F0} ms per profiled step (training + optimizer runs), backward {result.BackwardShare:P0} of kernel time; top: " +
                      string.Join(", ", top.Take(5).Select(o => $"{o.OpType} {o.Share:P0}")));
        return result;
    }
}
