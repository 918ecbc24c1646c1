using VbLoraOrt.Onnx;

namespace VbLoraOrt.Bench;

/// <summary>What <see cref="TrainingBenchmark.Run"/> measures and with which programs.</summary>
public sealed class BenchmarkOptions
{
    /// <summary>The exported base model (all-MiniLM-L6-v2).</summary>
    public required string ModelPath { get; init; }

    /// <summary>Its WordPiece vocabulary.</summary>
    public required string VocabPath { get; init; }

    /// <summary>Training data for the step batch and the throughput comparison (the SpamAssassin training split).</summary>
    public required string TrainFile { get; init; }

    /// <summary>Scratch folder for artifacts, profiles, the merged model and the adapter file (created).</summary>
    public required string WorkDirectory { get; init; }

    /// <summary>Program and leading arguments that run <c>vblora-graph</c> (e.g. <c>dotnet</c>, <c>vblora-graph.dll</c>).</summary>
    public required ProgramCommand GraphProgram { get; init; }

    /// <summary>Program and leading arguments that run <c>vblora-run</c>.</summary>
    public required ProgramCommand RunProgram { get; init; }

    /// <summary>Examples per batch. Default 16.</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>Tokens per sequence of the fixed batch (and the truncation length). Default 128.</summary>
    public int SequenceLength { get; init; } = 128;

    /// <summary>Intra-op threads of every session. Default 2.</summary>
    public int Threads { get; init; } = 2;

    /// <summary>What the interleaved iterations are timed by (token throughput is always wall-clock).</summary>
    public LatencyClock Clock { get; init; } = LatencyClock.Wall;

    /// <summary>Untimed runs of each measured thing before timing. Default 2.</summary>
    public int WarmupIterations { get; init; } = 2;

    /// <summary>Timed runs of each measured thing. Default 10.</summary>
    public int Iterations { get; init; } = 10;

    /// <summary>
    /// Real-token throughput trains on a seeded sample of this many batches' worth of examples, once per padding
    /// mode (0: the whole file). Default 20.
    /// </summary>
    public int ThroughputBatches { get; init; } = 20;

    /// <summary>Maximum length of the second throughput comparison, where padding costs more. Default 512 (MiniLM's limit).</summary>
    public int LongSequenceLength { get; init; } = 512;

    /// <summary>The same at <see cref="LongSequenceLength"/> (0: the whole file). Default 12.</summary>
    public int LongThroughputBatches { get; init; } = 12;

    /// <summary>Profiled runs of each session not counted: the first is cold, the second still grows the memory arena.</summary>
    public const int ProfileWarmupRuns = 2;

    /// <summary>Profiled training steps counted (after <see cref="ProfileWarmupRuns"/>); per-node medians over them. Default 5.</summary>
    public int ProfiledSteps { get; init; } = 5;

    /// <summary>
    /// An artifact folder (mean-pooled head, same base model and batch inputs) whose training step is timed in the same
    /// interleaved iterations, e.g. one prepared by an earlier build: graph changes are compared side by side. Optional.
    /// </summary>
    public string? CompareArtifacts { get; init; }

    /// <summary>Throws naming the first invalid value.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 1, nameof(BatchSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(SequenceLength, 2, nameof(SequenceLength));
        ArgumentOutOfRangeException.ThrowIfLessThan(Threads, 1, nameof(Threads));
        ArgumentOutOfRangeException.ThrowIfNegative(WarmupIterations, nameof(WarmupIterations));
        ArgumentOutOfRangeException.ThrowIfLessThan(Iterations, 1, nameof(Iterations));
        ArgumentOutOfRangeException.ThrowIfNegative(ThroughputBatches, nameof(ThroughputBatches));
        ArgumentOutOfRangeException.ThrowIfLessThan(LongSequenceLength, 2, nameof(LongSequenceLength));
        ArgumentOutOfRangeException.ThrowIfNegative(LongThroughputBatches, nameof(LongThroughputBatches));
        ArgumentOutOfRangeException.ThrowIfLessThan(ProfiledSteps, 3, nameof(ProfiledSteps));
        foreach (string file in new[] { ModelPath, VocabPath, TrainFile })
            if (!File.Exists(file))
                throw new VbLoraOrt.Onnx.BadInputException($"{file}: not found.");
        if (CompareArtifacts != null && !Directory.Exists(CompareArtifacts))
            throw new VbLoraOrt.Onnx.UsageException($"--compare-artifacts {CompareArtifacts}: no such folder.");
    }
}

/// <summary>A program to start as a child process, with the arguments that come before the command's own.</summary>
/// <param name="FileName">Executable (an apphost, or <c>dotnet</c>).</param>
/// <param name="Prefix">Leading arguments (e.g. the dll <c>dotnet</c> runs).</param>
public sealed record ProgramCommand(string FileName, IReadOnlyList<string> Prefix)
{
    /// <summary>The full argument list for <paramref name="arguments"/>.</summary>
    public IReadOnlyList<string> With(params string[] arguments) => [.. Prefix, .. arguments];

    /// <inheritdoc/>
    public override string ToString() => string.Join(' ', Prefix.Prepend(FileName));
}
