using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.GraphBuilder.Artifacts.Optimizer;
using VbLoraOrt.Onnx;
using VbLoraOrt.OrtFormats.Checkpoints;
using static VbLoraOrt.GraphBuilder.OrtTraining.OrtTrainingNames;

namespace VbLoraOrt.GraphBuilder.OrtTraining;

/// <summary>
/// Writes ONNX Runtime's own training artifacts (DESIGN.md §3.7) into <c>ort/</c> of a prepared artifact folder, from
/// the project's files already there: training and eval model in ONNX Runtime's form with every tensor inline (so
/// they load from bytes, as the web and mobile runtimes need), its AdamW optimizer model, and the initial
/// checkpoint in its ODTC format.
/// </summary>
public static class OrtArtifactWriter
{
    /// <summary>Writes the four files; returns their paths relative to <paramref name="artifactDirectory"/>.</summary>
    public static IReadOnlyList<string> Write(string artifactDirectory, ArtifactManifest manifest, AdamWOptions adamW, OrtArtifactOptions options)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(options);
        string folder = Path.Combine(artifactDirectory, Folder);
        Directory.CreateDirectory(folder);
        var training = OnnxModel.Load(Path.Combine(artifactDirectory, ArtifactNames.TrainingModel));
        AtomicFile.WriteAllBytes(Path.Combine(folder, TrainingModel), OrtTrainingModel.From(training, manifest.Trainables).ToBytesInline());
        var eval = OnnxModel.Load(Path.Combine(artifactDirectory, ArtifactNames.EvalModel));
        AtomicFile.WriteAllBytes(Path.Combine(folder, EvalModel), OrtEvalModel.From(eval, manifest.LabelInputs).ToBytesInline());
        OrtOptimizerModel.Build(adamW, options.WeightDecay).Save(Path.Combine(folder, OptimizerModel));
        var initial = Checkpoint.Load(Path.Combine(artifactDirectory, ArtifactNames.InitialCheckpoint), manifest.Identity);
        OrtCheckpointWriter.Write(OrtCheckpointConversion.ToOrt(manifest, initial, options.LearningRate), Path.Combine(folder, CheckpointFile));
        return Files;
    }
}
