using VbLoraOrt.Bench;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.Runner.Demo;
using VbLoraOrt.Runtime.Runs;
using VbLoraOrt.Runtime.Training;

namespace VbLoraOrt.TorchReference;

/// <summary>
/// What both sides start from, made by <c>vblora-bench</c>'s own code: artifacts prepared by its <c>prepare</c> child
/// process (VB-LoRA on query and value, bank 256×128, r 4, k 2, max length 128, 2-class head with the given pooling),
/// their initial checkpoint, the bench's fixed 16×128 batch of the SpamAssassin training split, and every parameter
/// group at its default learning rate with weight decay 0, as the bench steps it.
/// </summary>
/// <param name="ModelPath">The exported all-MiniLM-L6-v2 the artifacts were prepared from.</param>
/// <param name="Folder">The prepared artifacts.</param>
/// <param name="Initial">Their initial checkpoint: the values both sides start from.</param>
/// <param name="Batch">The fixed batch: <c>input_ids</c>, <c>attention_mask</c>, <c>token_type_ids</c>, <c>labels</c>.</param>
/// <param name="Settings">Learning rate and weight decay per parameter group.</param>
sealed record ReferenceSetup(string ModelPath, ArtifactFolder Folder, Checkpoint Initial, IReadOnlyList<BatchTensor> Batch,
    IReadOnlyDictionary<string, GroupHyperparameters> Settings)
{
    /// <summary>Batch and sequence length of the bench's step measurement.</summary>
    public const int BatchSize = 16, SequenceLength = 128;

    /// <summary>
    /// Prepares the artifacts for <paramref name="pooling"/> under <paramref name="workDirectory"/> (an earlier run's are
    /// replaced through prepare's own <c>--overwrite</c>, which keeps any other file) and loads what the comparison needs.
    /// </summary>
    public static ReferenceSetup Prepare(string workDirectory, Pooling pooling, TextWriter log)
    {
        var model = DemoModel.Ensure();
        var options = new BenchmarkOptions
        {
            ModelPath = model.ModelPath,
            VocabPath = model.VocabPath,
            TrainFile = DemoData.TrainFile,
            WorkDirectory = workDirectory,
            GraphProgram = BenchCommand.Beside("vblora-graph"),
            RunProgram = BenchCommand.Beside("vblora-run"),
            BatchSize = BatchSize,
            SequenceLength = SequenceLength,
        };
        options.Validate();
        string directory = Path.Combine(workDirectory, $"artifacts-{pooling.ToString().ToLowerInvariant()}");
        Directory.CreateDirectory(workDirectory);
        TrainingBenchmark.Prepare(options, log, pooling.ToString().ToLowerInvariant(), directory, overwrite: Directory.Exists(directory));

        var folder = ArtifactFolder.Open(directory);
        var initial = Checkpoint.Load(folder.InitialCheckpoint, folder.Identity);
        var batch = TrainingBenchmark.FixedBatch(folder, options.TrainFile, BatchSize, SequenceLength);
        return new ReferenceSetup(model.ModelPath, folder, initial, batch, TrainingBenchmark.Settings(folder));
    }

    /// <summary>The initial value of trainable <paramref name="name"/>.</summary>
    public float[] InitialValue(string name) =>
        Initial.Tensors.FirstOrDefault(t => t.Name == name)?.Values
        ?? throw new InvalidOperationException($"{Folder.InitialCheckpoint}: holds no tensor '{name}'.");
}
