using VbLoraOrt.Adapters.Files;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.Contracts.Runs;
using VbLoraOrt.GraphBuilder.Merge;
using VbLoraOrt.GraphBuilder.Serving;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Runtime.Runs;

/// <summary>The outcome of a training run: its artifacts, trained values and class names — what export and eval read.</summary>
public sealed class TrainedRun
{
    readonly IReadOnlyList<string> _runFiles;

    TrainedRun(ArtifactFolder artifacts, IReadOnlyDictionary<string, float[]> values, IReadOnlyList<string>? classNames, int maxLength,
        IReadOnlyList<string> runFiles)
    {
        _runFiles = runFiles;
        Artifacts = artifacts;
        MaxLength = maxLength;
        Values = values;
        ClassNames = classNames;
    }

    /// <summary>The run's artifact folder.</summary>
    public ArtifactFolder Artifacts { get; }

    /// <summary>Trained tensors by name (adapter and head) from the run's last checkpoint.</summary>
    public IReadOnlyDictionary<string, float[]> Values { get; }

    /// <summary>Class names of the training data in id order, when it named its classes.</summary>
    public IReadOnlyList<string>? ClassNames { get; }

    /// <summary>The maximum length the run trained with (its <c>--max-length</c>, else the artifacts').</summary>
    public int MaxLength { get; }

    /// <summary>Every file an export reads (the run's and the artifacts'): no output may replace one of them.</summary>
    public IEnumerable<string> Inputs => _runFiles.Concat(Artifacts.Files);

    /// <summary>The task with the run's class names.</summary>
    public TaskInfo Task => Artifacts.Manifest.Task with { LabelNames = ClassNames };

    /// <summary>Opens a run folder written by <c>vblora-run train</c>.</summary>
    public static TrainedRun Open(string runDirectory)
    {
        var run = new RunFolder(runDirectory);
        var options = run.LoadOptions();
        var artifacts = ArtifactFolder.Open(options.Artifacts);
        var checkpoint = Checkpoint.Load(run.CheckpointPath, artifacts.Identity);
        return new TrainedRun(artifacts, checkpoint.Tensors.ToDictionary(t => t.Name, t => t.Values, StringComparer.Ordinal), run.LoadClassNames(),
            artifacts.Manifest.Tokenizer.LengthFor(options.MaxLength), RunLayout.All.Select(f => Path.Combine(runDirectory, f)).ToList());
    }

    /// <summary>The trained tensors <paramref name="values"/> of <paramref name="artifacts"/>, from outside a run folder.</summary>
    internal static TrainedRun FromValues(ArtifactFolder artifacts, IReadOnlyDictionary<string, float[]> values) =>
        new(artifacts, values, null, artifacts.Manifest.Tokenizer.MaxLength, []);

    /// <summary>Writes the adapter in its stored form (DESIGN.md §2); an existing file is replaced only when <paramref name="overwrite"/>.</summary>
    /// <exception cref="UsageException">A file is at <paramref name="path"/> and <paramref name="overwrite"/> is false.</exception>
    public AdapterFileSummary ExportAdapter(string path, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        OutputPaths.RequireWritableFile("--adapter", path, overwrite, Inputs);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!); // as the merged export does
        return AdapterFile.Save(path, Artifacts.Manifest with { Task = Task }, Values);
    }

    /// <summary>
    /// Writes the merged model (adapter folded into the weights, head appended) with its vocabulary and the settings it
    /// was trained with (<see cref="MergedModelExporter"/>); <paramref name="taskOutputOnly"/>: only the task output,
    /// computing only what it reads.
    /// </summary>
    public void ExportMerged(string path, bool taskOutputOnly = false, bool overwrite = false)
    {
        OutputPaths.RequireWritableFile("--merged", path, overwrite, Inputs);
        MergedModelExporter.Export(Artifacts.Directory, Artifacts.Manifest with { Task = Task, Tokenizer = Artifacts.Manifest.Tokenizer with { MaxLength = MaxLength } },
            Values, path, taskOutputOnly, overwrite);
    }

    /// <summary>Writes a serving folder: the base model taking any adapter of these artifacts per run (DESIGN.md §7.1).</summary>
    public ServingManifest ExportServing(string directory, ServingFormChoice form = ServingFormChoice.Switch) =>
        ServingExporter.Export(Artifacts.Directory, Artifacts.Manifest with { Task = Task }, directory, form);

    /// <summary>Writes the adapter (with its head) as ONNX Runtime's <c>.onnx_adapter</c> for the serving model; returns its size in bytes.</summary>
    /// <exception cref="VbLoraOrt.Onnx.UsageException">A file is at <paramref name="path"/> and <paramref name="overwrite"/> is false.</exception>
    public long ExportOnnxAdapter(string path, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        OutputPaths.RequireWritableFile("--onnx-adapter", path, overwrite, Inputs);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        return ServingAdapter.Write(path, ServingAdapter.Create(Artifacts.Manifest, Values));
    }
}
