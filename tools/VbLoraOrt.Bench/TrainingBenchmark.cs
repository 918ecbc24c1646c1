using System.Diagnostics;
using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Files;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.Differentiation.Pruning;
using VbLoraOrt.GraphBuilder.Artifacts;
using VbLoraOrt.GraphBuilder.Merge;
using VbLoraOrt.GraphBuilder.Tasks;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Data;
using VbLoraOrt.Runtime.Runs;
using VbLoraOrt.Runtime.Sessions;
using VbLoraOrt.Runtime.Text;
using VbLoraOrt.Runtime.Training;

namespace VbLoraOrt.Bench;

/// <summary>
/// <c>vblora-run bench</c>: measures, in one process, VB-LoRA (query,value; bank 256×128, r 4, k 2) training on
/// all-MiniLM-L6-v2 against plain ORT inference, on the product's own session setup (<see cref="DeviceSessions"/>:
/// per-session pools, no spinning). Things compared are timed interleaved, iteration by iteration, so load on a
/// shared machine hits both sides alike; the ratios are the numbers to trust, absolute times vary with the load.
/// The headline head pools the CLS token (the prepare default; the last layer is then computed at that position
/// only, see <c>PositionPruning</c>); a mean-pooled head, which reads every position, is timed alongside.
/// </summary>
/// <remarks>
/// Steps: (1) <c>vblora-graph prepare</c> and (2) a short <c>vblora-run train</c> as child processes (wall time, peak
/// RSS); (3) adapter sizes; (4) matrix-product FLOPs of forward and step counted from the graphs; (5) forward vs step
/// (CLS and mean pooling) on a fixed batch; (6) real-token throughput bucketed vs fixed padding, at the fixed length
/// and at a long one; (7) merged vs base latency; (8) an ONNX Runtime profile of the mean-pooled step and, alternating
/// with it, of the base forward.
/// </remarks>
public static class TrainingBenchmark
{
    /// <summary>The adapter configuration measured.</summary>
    public static string AdapterDescription => $"{AdapterMethods.Default.Demo.Label} at its defaults; CLS-pooled 2-class head";

    /// <summary>Runs every measurement; progress goes to <paramref name="log"/>.</summary>
    public static BenchmarkResult Run(BenchmarkOptions options, TextWriter log, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(log);
        options.Validate();
        var machine = MachineInfo.Current();
        Directory.CreateDirectory(options.WorkDirectory);
        string artifacts = Path.Combine(options.WorkDirectory, "artifacts");
        string meanArtifacts = Path.Combine(options.WorkDirectory, "artifacts-mean");

        log.WriteLine($"machine: {machine.Cpu}, {machine.LogicalCores} logical cores, ONNX Runtime {machine.OrtVersion}, load {machine.LoadAverage}");
        // --work is the benchmark's scratch: an earlier run's artifacts are prepared again in place (prepare's --overwrite
        // replaces only what it wrote there), so the same command runs twice.
        var prepare = Prepare(options, log, "cls", artifacts, overwrite: Prepared(artifacts));
        Prepare(options, log, "mean", meanArtifacts, overwrite: Prepared(meanArtifacts));
        var folder = ArtifactFolder.Open(artifacts);
        var initial = Checkpoint.Load(folder.InitialCheckpoint, folder.Identity);
        var meanFolder = ArtifactFolder.Open(meanArtifacts);
        var training = MeasureTraining(options, log, artifacts);
        cancel.ThrowIfCancellationRequested();

        var adapters = AdapterSizes(options, folder, initial, options.WorkDirectory);
        var dims = new Dictionary<string, long> { ["batch"] = options.BatchSize, ["sequence"] = options.SequenceLength };
        double forwardGflop = Gflop(Path.Combine(artifacts, ArtifactNames.BaseModel), dims, log);
        double stepGflop = Gflop(folder.TrainingModel, dims, log);
        double meanStepGflop = Gflop(meanFolder.TrainingModel, dims, log);

        var tokenizer = folder.LoadTokenizer();
        var fixedBatch = FixedBatch(folder, options.TrainFile, options.BatchSize, options.SequenceLength);

        SampleSummary forwardMs, stepMs, ratio;
        PooledStepResult meanPooled;
        HeadOnlyStepResult headOnly;
        ComparedStepResult? comparison = null;
        ThroughputResult throughput, longThroughput;
        MergedLatencyResult merged;
        ForwardCutResult forwardCut;
        using (var device = DeviceSessions.Open(new DeviceOptions { IntraOpThreads = options.Threads }))
        using (var baseModel = BoundForward.Open(device, Path.Combine(artifacts, ArtifactNames.BaseModel), fixedBatch))
        {
            using (var state = TrainingState.Create(device, folder.Manifest.Trainables, initial))
            using (var trainer = Trainer.Create(state, folder.TrainingModel, folder.OptimizerModel))
            {
                var settings = Settings(folder);
                using (var meanState = TrainingState.Create(device, meanFolder.Manifest.Trainables, Checkpoint.Load(meanFolder.InitialCheckpoint, meanFolder.Identity)))
                using (var meanTrainer = Trainer.Create(meanState, meanFolder.TrainingModel, meanFolder.OptimizerModel))
                using (var headOnlyState = TrainingState.Create(device, meanFolder.Manifest.Trainables, Checkpoint.Load(meanFolder.InitialCheckpoint, meanFolder.Identity)))
                using (var headOnlyTrainer = HeadOnlyTrainer(headOnlyState, meanFolder))
                using (var compared = options.CompareArtifacts is { } other ? ComparedTrainer.Open(device, other) : null)
                {
                    var meanSettings = Settings(meanFolder);
                    var headOnlySettings = meanSettings.ToDictionary(g => g.Key, g => g.Key == ParameterGroups.Head ? g.Value : g.Value with { LearningRate = 0f });
                    log.WriteLine($"forward vs step (CLS and mean pooling{(compared != null ? ", and the compared artifacts' step" : "")}) at " +
                                  $"{options.BatchSize}×{options.SequenceLength}: {options.WarmupIterations} warm-up + {options.Iterations} interleaved iterations");
                    Action[] actions = [baseModel.Run, () => Step(trainer, fixedBatch, settings), () => Step(meanTrainer, fixedBatch, meanSettings),
                        () => Step(headOnlyTrainer, fixedBatch, headOnlySettings),
                        .. compared != null ? [() => Step(compared.Trainer, fixedBatch, compared.Settings)] : Array.Empty<Action>()];
                    var times = Interleaved(options.WarmupIterations, options.Iterations, options.Clock, cancel, actions);
                    var (f, s, m, h) = (times[0], times[1], times[2], times[3]);
                    (forwardMs, stepMs, ratio) = (SampleSummary.Of(f).Scaled(1e3), SampleSummary.Of(s).Scaled(1e3), SampleSummary.Of(s.Zip(f, (x, y) => x / y)));
                    meanPooled = new PooledStepResult(SampleSummary.Of(m).Scaled(1e3), SampleSummary.Of(m.Zip(f, (x, y) => x / y)), meanStepGflop);
                    log.WriteLine($"  forward {forwardMs.Median:F0} ms, step {stepMs.Median:F0} ms, step/forward {ratio.Median:F2}; " +
                                  $"mean-pooled step {meanPooled.StepMs.Median:F0} ms, step/forward {meanPooled.StepOverForward.Median:F2}");
                    headOnly = new HeadOnlyStepResult(SampleSummary.Of(h).Scaled(1e3), SampleSummary.Of(h.Zip(m, (x, y) => x / y)));
                    log.WriteLine($"  head-only step (mean-pooled) {headOnly.StepMs.Median:F0} ms, / full mean-pooled step {headOnly.OverFullStep.Median:F2}");
                    if (compared != null)
                    {
                        var c = times[4];
                        comparison = new ComparedStepResult(options.CompareArtifacts!, SampleSummary.Of(c).Scaled(1e3), SampleSummary.Of(c.Zip(f, (x, y) => x / y)),
                            SampleSummary.Of(m.Zip(c, (x, y) => x / y)));
                        log.WriteLine($"  compared step {comparison.StepMs.Median:F0} ms, step/forward {comparison.StepOverForward.Median:F2}; " +
                                      $"mean-pooled / compared {comparison.MeanOverCompared.Median:F3}");
                    }
                }
                throughput = Throughput(options, trainer, settings, folder, tokenizer, options.SequenceLength, options.ThroughputBatches, log, cancel);
                longThroughput = Throughput(options, trainer, settings, folder, tokenizer, options.LongSequenceLength, options.LongThroughputBatches, log, cancel);
            }
            merged = MergedLatency(options, device, baseModel, folder, initial, fixedBatch, log, cancel);
            forwardCut = MeasureForwardCut(options, device, baseModel, meanFolder, Checkpoint.Load(meanFolder.InitialCheckpoint, meanFolder.Identity), fixedBatch, log, cancel);
        }
        // The mean-pooled step: its forward part does all of the base model's work (CLS pooling prunes the last layer).
        var profile = ProfileStep(options, meanFolder, Checkpoint.Load(meanFolder.InitialCheckpoint, meanFolder.Identity), fixedBatch, log);
        return new BenchmarkResult
        {
            Machine = machine,
            Settings = new BenchmarkSettings(Path.GetFileName(Path.GetDirectoryName(options.ModelPath)) ?? options.ModelPath, AdapterDescription,
                options.BatchSize, options.SequenceLength, options.Threads, options.WarmupIterations, options.Iterations,
                Path.GetFileName(options.TrainFile), options.Clock),
            ForwardMs = forwardMs, StepMs = stepMs, StepOverForward = ratio, ForwardGflop = forwardGflop, StepGflop = stepGflop,
            MeanPooled = meanPooled, HeadOnly = headOnly, Comparison = comparison, Throughput = throughput, LongThroughput = longThroughput, Merged = merged, Prepare = prepare, Training = training, Adapters = adapters, Profile = profile, ForwardCut = forwardCut,
        };
    }

    // Peak RSS of a 3-step `train` child; its run folder is a temporary one this call creates and removes.
    static ChildMeasure MeasureTraining(BenchmarkOptions options, TextWriter log, string artifacts)
    {
        var scratch = Directory.CreateTempSubdirectory("vblora-bench-rss");
        try
        {
            return Measure(options.RunProgram, log, "train", "--artifacts", artifacts, "--train", options.TrainFile,
                "--out", Path.Combine(scratch.FullName, "run"), "--max-steps", "3", "--batch-size", $"{options.BatchSize}",
                "--max-length", $"{options.SequenceLength}", "--padding", "maxlength", "--threads", $"{options.Threads}", "--checkpoint-every", "1000");
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    static bool Prepared(string folder) => File.Exists(Path.Combine(folder, ArtifactNames.Manifest));

    // `overwrite`: replace an earlier prepare's artifacts in `folder` (prepare's own --overwrite: other files are kept).
    internal static ChildMeasure Prepare(BenchmarkOptions options, TextWriter log, string pooling, string folder, bool overwrite = false) =>
        Measure(options.GraphProgram, log, ["prepare", "--model", options.ModelPath, "--targets", "query,value",
            "--method", AdapterMethods.Default.Name, "--pooling", pooling, "--vocab", options.VocabPath,
            "--max-length", $"{options.SequenceLength}", "--out", folder, .. (overwrite ? ["--overwrite"] : Array.Empty<string>())]);

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

    // The first full batch of the data, padded to the sequence length: the batch every step and forward is timed on.
    internal static IReadOnlyList<BatchTensor> FixedBatch(ArtifactFolder folder, string trainFile, int batchSize, int sequenceLength)
    {
        var tokenizer = folder.LoadTokenizer();
        var data = TrainingData.Load(trainFile, folder.Manifest.Task, tokenizer, sequenceLength, skipBadRows: false, classNames: null);
        var batching = new BatchOptions { BatchSize = batchSize, MaxLength = sequenceLength, Padding = PaddingMode.MaxLength, Seed = 42 };
        return data.Batches(batching, 0, tokenizer.PaddingTokenId, folder.Manifest.DataInputs).First(b => b.Feeds[0].Shape[0] == batchSize).Feeds;
    }

    static BatchOptions Batching(BenchmarkOptions options, PaddingMode padding, int? maxLength = null) =>
        new() { BatchSize = options.BatchSize, MaxLength = maxLength ?? options.SequenceLength, Padding = padding, Seed = 42 };

    // `train --head-only`'s trainer: the head-only graph, the adapter frozen.
    static Trainer HeadOnlyTrainer(TrainingState state, ArtifactFolder folder) =>
        Trainer.Create(state, folder.HeadOnlyTrainingModel ?? throw new InvalidOperationException($"{folder.Directory}: no head-only graph."), folder.OptimizerModel,
            frozen: folder.Manifest.Trainables.Where(t => t.Group != ParameterGroups.Head).Select(t => t.Name).ToHashSet(StringComparer.Ordinal));

    // Every group at its default learning rate, as `train` would run it.
    internal static Dictionary<string, GroupHyperparameters> Settings(ArtifactFolder folder) =>
        TrainingRun.ResolveLearningRates(folder, new Dictionary<string, float>())
            .ToDictionary(g => g.Key, g => new GroupHyperparameters(g.Value, 0f));

    static void Step(Trainer trainer, IReadOnlyList<BatchTensor> batch, IReadOnlyDictionary<string, GroupHyperparameters> settings)
    {
        var result = trainer.Step(batch, settings);
        if (!result.Applied)
            throw new InvalidOperationException($"benchmark step was rejected: {result.Rejection}");
    }

    // Warm-up, then per iteration one run of each, rotating which goes first so none always meets a cold cache.
    internal static List<double>[] Interleaved(int warmup, int iterations, LatencyClock clock, CancellationToken cancel, params Action[] actions)
    {
        for (int i = 0; i < warmup; i++)
            foreach (var action in actions)
                action();
        var times = actions.Select(_ => new List<double>()).ToArray();
        for (int i = 0; i < iterations; i++)
        {
            cancel.ThrowIfCancellationRequested();
            for (int j = 0; j < actions.Length; j++)
            {
                int k = (i + j) % actions.Length;
                times[k].Add(Seconds(clock, actions[k]));
            }
        }
        return times;
    }

    static double Seconds(LatencyClock clock, Action action) => clock.Milliseconds(action) / 1e3;

    static double Time(Action action) => Seconds(LatencyClock.Wall, action);

    // Trains on one seeded sample of the data twice, once per padding mode: both modes see exactly the same examples
    // (so the same real tokens), and the ratio of their times is the speedup. Batches alternate between the modes.
    static ThroughputResult Throughput(BenchmarkOptions options, Trainer trainer, Dictionary<string, GroupHyperparameters> settings,
        ArtifactFolder folder, BertTextTokenizer tokenizer, int maxLength, int batches, TextWriter log, CancellationToken cancel)
    {
        var text = DataFileReader.ReadText(options.TrainFile, LabelKind.Class);
        var random = new Random(42);
        int rows = batches == 0 ? text.Examples.Count : Math.Min(text.Examples.Count, batches * options.BatchSize);
        var sample = EncodedDataset.Encode(text with { Examples = text.Examples.OrderBy(_ => random.Next()).Take(rows).ToList() }, tokenizer, maxLength);
        List<(IReadOnlyList<BatchTensor> Feeds, long Tokens, long Padded)> BatchesOf(PaddingMode padding) =>
            sample.TextBatches(Batching(options, padding, maxLength), 0)
                .Select(b => (BatchFeeds.ForText(b, folder.Manifest.DataInputs, withLabels: true), b.Tokens.AttentionMask.Sum(), (long)b.Tokens.AttentionMask.Length))
                .ToList();
        var bucketed = BatchesOf(PaddingMode.Longest);
        var fixedPadding = BatchesOf(PaddingMode.MaxLength);
        log.WriteLine($"real-token throughput at max length {maxLength}: the same {rows} examples as {bucketed.Count} bucketed and {fixedPadding.Count} fixed-padding batches, alternating");

        double bucketedSeconds = 0, fixedSeconds = 0;
        for (int i = 0; i < Math.Max(bucketed.Count, fixedPadding.Count); i++)
        {
            cancel.ThrowIfCancellationRequested();
            if (i < bucketed.Count)
                bucketedSeconds += Time(() => Step(trainer, bucketed[i].Feeds, settings));
            if (i < fixedPadding.Count)
                fixedSeconds += Time(() => Step(trainer, fixedPadding[i].Feeds, settings));
        }
        long tokens = bucketed.Sum(b => b.Tokens);
        double bucketedRate = tokens / bucketedSeconds, fixedRate = fixedPadding.Sum(b => b.Tokens) / fixedSeconds;
        double bucketedEfficiency = (double)tokens / bucketed.Sum(b => b.Padded), fixedEfficiency = (double)tokens / fixedPadding.Sum(b => b.Padded);
        log.WriteLine($"  bucketed {bucketedRate:F0} real tokens/s, fixed {fixedRate:F0}: ×{bucketedRate / fixedRate:F2} " +
                      $"(real tokens {bucketedEfficiency:P0} vs {fixedEfficiency:P0} of the padded batches)");
        return new ThroughputResult(maxLength, bucketedRate, fixedRate, bucketedRate / fixedRate, rows, bucketedEfficiency, fixedEfficiency);
    }

    static MergedLatencyResult MergedLatency(BenchmarkOptions options, DeviceSessions device, BoundForward baseModel, ArtifactFolder folder,
        Checkpoint initial, IReadOnlyList<BatchTensor> batch, TextWriter log, CancellationToken cancel)
    {
        string path = Path.Combine(options.WorkDirectory, "merged", "model.onnx");
        // The initial adapter is non-zero (random bank, random logits), so the merged weights differ from the base's.
        MergedModelExporter.Export(folder.Directory, folder.Manifest, initial.Tensors.ToDictionary(t => t.Name, t => t.Values), path,
            overwrite: File.Exists(path)); // an earlier run's
        using var merged = BoundForward.Open(device, path, batch);
        // Twice the iterations (at least 20): the two graphs are the same, so only noise separates them, and a forward is cheap.
        int iterations = Math.Max(20, 2 * options.Iterations);
        log.WriteLine($"merged vs base inference: {options.WarmupIterations} warm-up + {iterations} interleaved iterations");
        var times = Interleaved(options.WarmupIterations, iterations, options.Clock, cancel, baseModel.Run, merged.Run);
        var (b, m) = (times[0], times[1]);
        var result = new MergedLatencyResult(SampleSummary.Of(b).Scaled(1e3), SampleSummary.Of(m).Scaled(1e3), SampleSummary.Of(m.Zip(b, (x, y) => x / y)));
        log.WriteLine($"  base {result.BaseMs.Median:F0} ms, merged {result.MergedMs.Median:F0} ms, merged/base {result.MergedOverBase.Median:F3}");
        return result;
    }

    static IReadOnlyList<AdapterSize> AdapterSizes(BenchmarkOptions options, ArtifactFolder folder, Checkpoint initial, string workDirectory)
    {
        // The stored form's size does not depend on the values; the initial ones stand in for trained ones.
        var summary = AdapterFile.Save(Path.Combine(workDirectory, "adapter" + AdapterFile.Extension), folder.Manifest,
            initial.Tensors.ToDictionary(t => t.Name, t => t.Values));
        // The other methods on the same targets and head, at their demo configurations, prepared and saved the same way.
        return
        [
            new AdapterSize($"{folder.Method.Name} ({AdapterMethods.Default.Demo.Label}; + head)", folder.Manifest.Counts.AdapterStored + folder.Manifest.Counts.Head, summary.FileBytes, Measured: true),
            .. AdapterMethods.All.Where(d => d.Name != folder.Method.Name).Select(d => OtherMethod(options, folder, workDirectory,
                $"{d.Name} ({d.Demo.Label}; + head)", d.Create(MethodOptionValues.For(d, d.Demo.Options), 42))),
        ];
    }

    static AdapterSize OtherMethod(BenchmarkOptions options, ArtifactFolder folder, string workDirectory, string description, IAdapterMethod method)
    {
        string directory = Path.Combine(workDirectory, "artifacts-" + method.Name);
        var manifest = ArtifactBuilder.Prepare(new PrepareOptions
        {
            ModelPath = options.ModelPath,
            OutputDirectory = directory,
            Overwrite = Prepared(directory), // an earlier run's
            Method = method,
            Targets = TargetSpec.FromNames(folder.Manifest.Targets.Select(t => t.Path)),
            Task = new TaskOptions { Kind = folder.Manifest.Task.Kind, NumLabels = folder.Manifest.Task.NumLabels, Pooling = folder.Manifest.Task.Pooling },
        });
        var initial = Checkpoint.Load(Path.Combine(directory, ArtifactNames.InitialCheckpoint), manifest.Identity);
        var saved = AdapterFile.Save(Path.Combine(workDirectory, $"adapter-{method.Name}{AdapterFile.Extension}"), manifest,
            initial.Tensors.ToDictionary(t => t.Name, t => t.Values));
        return new AdapterSize(description, manifest.Counts.AdapterStored + manifest.Counts.Head, saved.FileBytes, Measured: true);
    }

    // The step profiled, and the base model's forward profiled in the same iterations (a second device with its own
    // trace prefix), so the training graph's forward part can be set against the forward it should match. Each session
    // writes one trace; the first runs of each are cold and skipped, the rest give per-node medians.
    static StepProfileResult ProfileStep(BenchmarkOptions options, ArtifactFolder folder, Checkpoint initial, IReadOnlyList<BatchTensor> batch, TextWriter log)
    {
        string directory = Path.Combine(options.WorkDirectory, "profile"), forwardDirectory = Path.Combine(directory, "forward");
        Directory.CreateDirectory(forwardDirectory);
        // An earlier run's traces are replaced (--work's promise); any other file there is kept.
        foreach (string trace in Traces(directory, "step").Concat(Traces(forwardDirectory, "forward")))
            File.Delete(trace);
        int warmup = BenchmarkOptions.ProfileWarmupRuns, steps = options.ProfiledSteps;
        log.WriteLine($"profiling {warmup} + {steps} training steps and base forwards, alternating (ONNX Runtime profiler; the first {warmup} of each not counted) …");
        var settings = Settings(folder);
        using (var device = DeviceSessions.Open(new DeviceOptions { IntraOpThreads = options.Threads, ProfileFilePrefix = Path.Combine(directory, "step") }))
        using (var forwardDevice = DeviceSessions.Open(new DeviceOptions { IntraOpThreads = options.Threads, ProfileFilePrefix = Path.Combine(forwardDirectory, "forward") }))
        using (var state = TrainingState.Create(device, folder.Manifest.Trainables, initial))
        using (var trainer = Trainer.Create(state, folder.TrainingModel, folder.OptimizerModel))
        using (var forward = BoundForward.Open(forwardDevice, Path.Combine(folder.Directory, ArtifactNames.BaseModel), batch))
        {
            for (int i = 0; i < warmup + steps; i++)
            {
                Step(trainer, batch, settings);
                forward.Run();
            }
        } // sessions write their traces when disposed

        var sessions = Traces(directory, "step").Select(f => OrtProfile.Read(f, warmup)).ToList();
        var training = sessions.SingleOrDefault(p => p.HasBackward)
            ?? throw new InvalidOperationException($"{directory}: no profiled session ran backward nodes; the step profile is missing.");
        var optimizer = sessions.Single(p => p != training);
        var baseProfile = OrtProfile.Read(Traces(forwardDirectory, "forward").Single(), warmup);
        double kernel = training.KernelMicroseconds + optimizer.KernelMicroseconds, backward = training.BackwardMicroseconds;
        var top = training.Ops().Concat(optimizer.Ops()).GroupBy(o => o.OpType)
            .Select(g => new ProfiledOp(g.Key, g.Sum(o => o.Nodes), g.Sum(o => o.Microseconds) / 1e3, g.Sum(o => o.Microseconds) / kernel))
            .OrderByDescending(o => o.MsPerStep).Take(10).ToList();
        var backwardOther = training.Ops(n => n.IsBackward && !n.IsMatrixProduct).Take(6)
            .Select(o => new ProfiledOp(o.OpType, o.Nodes, o.Microseconds / 1e3, o.Microseconds / backward)).ToList();
        var result = new StepProfileResult(training.Runs, warmup, (training.RunMicroseconds + optimizer.RunMicroseconds) / 1e3, backward / training.KernelMicroseconds, top,
            training.ForwardMicroseconds / 1e3, baseProfile.KernelMicroseconds / 1e3, backward / 1e3, optimizer.KernelMicroseconds / 1e3, backwardOther,
            (training.ProductMicroseconds + optimizer.ProductMicroseconds) / 1e3, baseProfile.ProductMicroseconds / 1e3);
        log.WriteLine($"  {result.StepMs:F0} ms per profiled step (training + optimizer runs, medians); forward part {result.ForwardPartMs:F0} ms vs base forward " +
                      $"{result.BaseForwardMs:F0} ms (×{result.ForwardPartOverBase:F2}), backward {result.BackwardMs:F0} ms, optimizer {result.OptimizerMs:F1} ms; " +
                      "backward besides products: " + string.Join(", ", backwardOther.Take(4).Select(o => $"{o.OpType} {o.MsPerStep:F0} ms")));
        return result;
    }

    // The trace files ONNX Runtime's profiler writes for `prefix` in `directory` (<prefix>_<start time>.json).
    static string[] Traces(string directory, string prefix) => Directory.GetFiles(directory, $"{prefix}_*.json");

    // The training graph's forward part cut out as its own graph (ForwardCut), timed interleaved with the base forward.
    static ForwardCutResult MeasureForwardCut(BenchmarkOptions options, DeviceSessions device, BoundForward baseModel, ArtifactFolder folder,
        Checkpoint initial, IReadOnlyList<BatchTensor> batch, TextWriter log, CancellationToken cancel)
    {
        string path = Path.Combine(folder.Directory, "forward_cut.onnx"); // beside the weights file it shares
        ForwardCut.Of(OnnxModel.Load(folder.TrainingModel)).Save(path, new ExternalDataOptions { FileName = "forward_cut.data", ThresholdBytes = 1 << 20 });
        var trainables = folder.Manifest.Trainables.Select(t => BatchTensor.Float(t.Name, t.Shape, initial.Tensors.Single(x => x.Name == t.Name).Values));
        using var cut = BoundForward.Open(device, path, [.. batch, .. trainables]);
        log.WriteLine($"forward part of the mean-pooled training graph, cut out, vs base forward: {options.WarmupIterations} warm-up + {options.Iterations} interleaved iterations");
        var times = Interleaved(options.WarmupIterations, options.Iterations, options.Clock, cancel, baseModel.Run, cut.Run);
        var (b, c) = (times[0], times[1]);
        var result = new ForwardCutResult(SampleSummary.Of(c).Scaled(1e3), SampleSummary.Of(b).Scaled(1e3), SampleSummary.Of(c.Zip(b, (x, y) => x / y)));
        log.WriteLine($"  cut {result.CutMs.Median:F0} ms, base {result.BaseMs.Median:F0} ms, cut/base {result.CutOverBase.Median:F3}");
        return result;
    }
}
