using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.GraphBuilder.OrtTraining;
using VbLoraOrt.OrtFormats.Checkpoints;

namespace VbLoraOrt.Runtime.Runs;

/// <summary>
/// The runner's side of ONNX Runtime's training checkpoints (DESIGN.md §3.7): continue training from one, or export
/// the adapter and merged model of one. The checkpoint must be ODTC version 2 and hold exactly the artifacts'
/// trainables (names and dims); anything else is refused naming the identifier, version or tensor found.
/// </summary>
public static class OrtCheckpointRuns
{
    /// <summary>The project's checkpoint of the ONNX Runtime checkpoint at <paramref name="path"/> for <paramref name="artifacts"/>.</summary>
    /// <exception cref="VbLoraOrt.Onnx.BadInputException">Not ODTC, another version, damaged, or not matching the artifacts.</exception>
    public static Checkpoint Load(string path, ArtifactFolder artifacts, long seed = 42)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(artifacts);
        if (!File.Exists(path))
            throw new VbLoraOrt.Onnx.BadInputException($"ONNX Runtime checkpoint '{path}' does not exist.");
        return OrtCheckpointConversion.FromOrt(OrtCheckpointReader.Read(path), artifacts.Manifest, path, seed).RequireFinite(path);
    }

    /// <summary>Starts a new run in <see cref="TrainOptions.Out"/> from the ONNX Runtime checkpoint's parameters, moments and step.</summary>
    public static TrainSummary Start(TrainOptions options, string checkpointPath, ITrainingObserver observer, CancellationToken cancel = default, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(options);
        return TrainingRun.Start(options, observer, cancel, overwrite, folder => Load(checkpointPath, folder, options.Seed));
    }

    /// <summary>The trained values of the ONNX Runtime checkpoint at <paramref name="checkpointPath"/>, ready to export.</summary>
    /// <exception cref="VbLoraOrt.Onnx.BadInputException">The folder or the checkpoint is not usable; the message says which and why.</exception>
    public static TrainedRun Open(string artifactDirectory, string checkpointPath)
    {
        var artifacts = ArtifactFolder.Open(artifactDirectory);
        var checkpoint = Load(checkpointPath, artifacts);
        var trainables = artifacts.Manifest.Trainables.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        return TrainedRun.FromValues(artifacts, checkpoint.Tensors.Where(t => trainables.Contains(t.Name))
            .ToDictionary(t => t.Name, t => t.Values, StringComparer.Ordinal));
    }
}
