namespace VbLoraOrt.Bench;

/// <summary>Everything one <c>vblora-run bench</c> measured; times in milliseconds, sizes in bytes.</summary>
public sealed record BenchmarkResult
{
    /// <summary>Where it ran.</summary>
    public required MachineInfo Machine { get; init; }

    /// <summary>The settings measured (batch, sequence, threads, iterations…).</summary>
    public required BenchmarkSettings Settings { get; init; }

    /// <summary>Base-model inference on the fixed batch, ms.</summary>
    public required SampleSummary ForwardMs { get; init; }

    /// <summary>Full training step (training + optimizer session, state bound as in training) on the fixed batch, ms.</summary>
    public required SampleSummary StepMs { get; init; }

    /// <summary>Step time / forward time of the same iteration (measured interleaved).</summary>
    public required SampleSummary StepOverForward { get; init; }

    /// <summary>Counted matrix-product GFLOP of one forward at the fixed batch.</summary>
    public required double ForwardGflop { get; init; }

    /// <summary>Counted matrix-product GFLOP of one training step (forward, loss, backward) at the fixed batch.</summary>
    public required double StepGflop { get; init; }

    /// <summary>The same step with a mean-pooled head, which reads every position (nothing to prune).</summary>
    public required PooledStepResult MeanPooled { get; init; }

    /// <summary>The head-only step (<c>train --head-only</c>'s graph) of the mean-pooled artifacts, timed in the same iterations.</summary>
    public required HeadOnlyStepResult HeadOnly { get; init; }

    /// <summary>The step of <see cref="BenchmarkOptions.CompareArtifacts"/>, timed in the same iterations; null without it.</summary>
    public ComparedStepResult? Comparison { get; init; }

    /// <summary>Real-token throughput with length bucketing vs fixed padding, at the fixed batch's length.</summary>
    public required ThroughputResult Throughput { get; init; }

    /// <summary>The same at a long maximum length, where padding to it costs more.</summary>
    public required ThroughputResult LongThroughput { get; init; }

    /// <summary>Merged-model vs base-model inference.</summary>
    public required MergedLatencyResult Merged { get; init; }

    /// <summary><c>vblora-graph prepare</c> as a child process: wall time (ms) and peak RSS.</summary>
    public required ChildMeasure Prepare { get; init; }

    /// <summary>A short <c>vblora-run train</c> at the fixed batch size and padding as a child process.</summary>
    public required ChildMeasure Training { get; init; }

    /// <summary>Adapter sizes on disk, per method, and the LoRA reference.</summary>
    public required IReadOnlyList<AdapterSize> Adapters { get; init; }

    /// <summary>Where the training step's time goes (ONNX Runtime profiler).</summary>
    public required StepProfileResult Profile { get; init; }

    /// <summary>The forward part of the mean-pooled training graph, cut out and timed against the base forward.</summary>
    public required ForwardCutResult ForwardCut { get; init; }
}

/// <summary>The settings a benchmark ran with.</summary>
/// <param name="Clock">What the timed iterations' times are (step / forward ratios are of the same clock).</param>
public sealed record BenchmarkSettings(string Model, string Adapter, int BatchSize, int SequenceLength, int Threads, int Warmup, int Iterations,
    string TrainFile, LatencyClock Clock = LatencyClock.Wall);

/// <summary>A training step with another head, timed interleaved with the forward and the headline step.</summary>
/// <param name="StepMs">Step time, ms.</param>
/// <param name="StepOverForward">Step / forward time of the same iteration.</param>
/// <param name="StepGflop">Counted matrix-product GFLOP of the step.</param>
public sealed record PooledStepResult(SampleSummary StepMs, SampleSummary StepOverForward, double StepGflop);

/// <summary>The head-only training step (head-only graph, adapter frozen) against the full step of the same artifacts.</summary>
/// <param name="StepMs">Head-only step time, ms.</param>
/// <param name="OverFullStep">Head-only step / full mean-pooled step of the same iteration.</param>
public sealed record HeadOnlyStepResult(SampleSummary StepMs, SampleSummary OverFullStep);

/// <summary>The step of other artifacts (e.g. prepared by an earlier build), timed interleaved with the mean-pooled step.</summary>
/// <param name="Artifacts">The compared artifact folder.</param>
/// <param name="StepMs">Its step time, ms.</param>
/// <param name="StepOverForward">Its step / forward time of the same iteration.</param>
/// <param name="MeanOverCompared">Mean-pooled step / compared step of the same iteration (below 1: this build's graphs are faster).</param>
public sealed record ComparedStepResult(string Artifacts, SampleSummary StepMs, SampleSummary StepOverForward, SampleSummary MeanOverCompared);

/// <summary>Real (unpadded) tokens per second of training on one sample of the data, bucketed vs fixed padding.</summary>
/// <param name="MaxLength">Truncation length, and the length every fixed-padding batch is padded to.</param>
/// <param name="BucketedTokensPerSecond">Real tokens / step time with <c>--padding longest</c> (length-bucketed batches).</param>
/// <param name="FixedTokensPerSecond">Real tokens / step time with <c>--padding maxlength</c>.</param>
/// <param name="Speedup">Bucketed / fixed.</param>
/// <param name="ExamplesTimed">Examples of the sample, trained on once in each mode.</param>
/// <param name="BucketedPaddingEfficiency">Real / padded tokens of the sample's bucketed batches.</param>
/// <param name="FixedPaddingEfficiency">Real / padded tokens of its fixed-padding batches. Attention grows with the square of
/// the length, so the speedup can exceed the ratio of the two.</param>
public sealed record ThroughputResult(long MaxLength, double BucketedTokensPerSecond, double FixedTokensPerSecond, double Speedup, int ExamplesTimed,
    double BucketedPaddingEfficiency, double FixedPaddingEfficiency);

/// <summary>Merged vs base inference latency on the fixed batch, timed interleaved.</summary>
public sealed record MergedLatencyResult(SampleSummary BaseMs, SampleSummary MergedMs, SampleSummary MergedOverBase);

/// <summary>A child process's wall time (ms) and peak resident set size (bytes), and what it ran.</summary>
public sealed record ChildMeasure(double WallMs, long PeakRssBytes, string Command);

/// <summary>An adapter's stored size.</summary>
/// <param name="Method">Method and configuration.</param>
/// <param name="StoredParameters">Stored parameters in float32 equivalents (PEFT's count).</param>
/// <param name="Bytes">Bytes on disk.</param>
/// <param name="Measured">True when <paramref name="Bytes"/> is a written file's size; false when computed (reference methods not built here).</param>
public sealed record AdapterSize(string Method, double StoredParameters, long Bytes, bool Measured);

/// <summary>
/// The profiled training step: per node the median kernel time over the steady runs (the first, cold runs skipped),
/// summed per pass, per session and per op type.
/// </summary>
/// <param name="Steps">Profiled steps counted.</param>
/// <param name="WarmupRuns">Runs of each session profiled but not counted (cold: planning, arena growth).</param>
/// <param name="StepMs">Median run time of the training session plus that of the optimizer session, ms (profiling adds overhead).</param>
/// <param name="BackwardShare">Share of the training session's kernel time spent in backward (<c>grad/…</c>) nodes.</param>
/// <param name="TopOps">Largest op types of the training and optimizer sessions: kernel ms per step, node count, share of kernel time.</param>
/// <param name="ForwardPartMs">Kernel time of the training graph's forward nodes (all but <c>grad/…</c>) per step, ms.</param>
/// <param name="BaseForwardMs">Kernel time of the base model's forward per run, profiled interleaved with the steps, ms.</param>
/// <param name="BackwardMs">Kernel time of the backward nodes per step, ms.</param>
/// <param name="OptimizerMs">Kernel time of the optimizer session per step, ms.</param>
/// <param name="TopBackwardOther">Largest op types of the backward other than matrix products (share: of the backward's kernel time).</param>
/// <param name="StepProductMs">Kernel time of the step's matrix products (training and optimizer sessions, forward and backward), ms.</param>
/// <param name="BaseProductMs">Kernel time of the base forward's matrix products, ms.</param>
public sealed record StepProfileResult(int Steps, int WarmupRuns, double StepMs, double BackwardShare, IReadOnlyList<ProfiledOp> TopOps,
    double ForwardPartMs, double BaseForwardMs, double BackwardMs, double OptimizerMs, IReadOnlyList<ProfiledOp> TopBackwardOther,
    double StepProductMs, double BaseProductMs)
{
    /// <summary>Forward part of the training graph over the base model's forward (the same statistic, summed node medians).</summary>
    public double ForwardPartOverBase => ForwardPartMs / BaseForwardMs;

    /// <summary>The whole step's kernel time (training and optimizer sessions) over the base forward's: the profile's own step / forward.</summary>
    public double StepOverBase => (ForwardPartMs + BackwardMs + OptimizerMs) / BaseForwardMs;

    /// <summary>Base forward's kernel time outside matrix products (normalizations, GELU, softmax, adds, transposes), ms.</summary>
    public double BaseOtherMs => BaseForwardMs - BaseProductMs;

    /// <summary>
    /// Step / forward if the step did no work but its matrix products, as fast as they ran, and what an inference
    /// forward already does besides its products: no backward elementwise work, no optimizer.
    /// </summary>
    public double ProductFloor => (StepProductMs + BaseOtherMs) / BaseForwardMs;

    /// <summary>
    /// <see cref="ProductFloor"/> with the step's products at the base forward's own product rate:
    /// <paramref name="flopRatio"/> (step GFLOP / forward GFLOP) forwards' worth of products, plus the forward's other work.
    /// </summary>
    public double RateFloor(double flopRatio) => (flopRatio * BaseProductMs + BaseOtherMs) / BaseForwardMs;
}

/// <summary>
/// The training graph's forward part cut out as a graph of its own (<see cref="ForwardCut"/>) against the base forward,
/// timed interleaved without the profiler: a second measure of the forward part's cost.
/// </summary>
public sealed record ForwardCutResult(SampleSummary CutMs, SampleSummary BaseMs, SampleSummary CutOverBase);

/// <summary>One op type's cost in the profiled step.</summary>
public sealed record ProfiledOp(string OpType, int Nodes, double MsPerStep, double Share);
