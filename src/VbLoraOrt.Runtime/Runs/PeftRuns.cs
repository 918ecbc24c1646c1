using VbLoraOrt.Adapters.Discovery;
using VbLoraOrt.Adapters.Files;
using VbLoraOrt.Adapters.Interchange;
using VbLoraOrt.Adapters.Peft;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Runtime.Runs;

/// <summary>
/// The runner's side of PEFT directories as inputs (DESIGN.md §2.8): evaluate one through an artifact folder's eval
/// graph, export it as anything a run exports (the serving <c>.onnx_adapter</c> among them), or start training from
/// its values. The directory is read against the artifacts' own base model, whose SHA-256 the folder verifies, and
/// must fit the artifacts in method, options, targets and task (<see cref="PeftArtifactImport"/>).
/// </summary>
public static class PeftRuns
{
    /// <summary>The PEFT directory at <paramref name="directory"/> as an adapter of <paramref name="artifacts"/>.</summary>
    /// <exception cref="BadInputException">It is malformed or does not fit (the message names the field, key or module).</exception>
    public static StoredAdapter Load(string directory, ArtifactFolder artifacts)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(artifacts);
        var baseModel = OnnxModel.Load(Path.Combine(artifacts.Directory, ArtifactNames.BaseModel));
        return PeftArtifactImport.Read(directory, artifacts.Manifest, artifacts.Method, artifacts.Plan, LinearModuleFinder.Find(baseModel), artifacts.Directory);
    }

    /// <summary>Opens <paramref name="directory"/> with the artifacts in <paramref name="artifactDirectory"/>, ready to evaluate or export.</summary>
    /// <exception cref="BadInputException">It does not fit, or it has no head and the artifacts classify.</exception>
    public static TrainedRun Open(string artifactDirectory, string directory)
    {
        var artifacts = ArtifactFolder.Open(artifactDirectory);
        var adapter = Load(directory, artifacts);
        RequireHead(adapter, artifacts, "without it there is nothing to export; train one with `vblora-run train --init-from-peft`");
        return TrainedRun.FromValues(artifacts, adapter.Parameters.ToDictionary(p => p.Key, p => Exportable(p.Value), StringComparer.Ordinal));
    }

    // A stored form that keeps only some entries (VB-LoRA's top-k) marks the dropped ones −∞, which the exports refuse
    // as a sign of divergence; the most negative float is never among the kept ones either, so everything composes the same.
    static float[] Exportable(float[] values) =>
        Array.IndexOf(values, float.NegativeInfinity) < 0 ? values : values.Select(v => float.IsNegativeInfinity(v) ? float.MinValue : v).ToArray();

    /// <summary>
    /// Starts a new run in <see cref="TrainOptions.Out"/> from the directory's values at step 0 (no AdamW moments; a
    /// directory without a classifier keeps the artifacts' initial head).
    /// </summary>
    /// <exception cref="BadInputException">It does not fit, or its values cannot be trained (VB-LoRA's top-k form).</exception>
    public static TrainSummary Start(TrainOptions options, string directory, ITrainingObserver observer, CancellationToken cancel = default, bool overwrite = false)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(observer);
        return TrainingRun.Start(options, observer, cancel, overwrite, folder => InitialState(directory, folder, options.Seed, observer));
    }

    static Checkpoint InitialState(string directory, ArtifactFolder folder, long seed, ITrainingObserver observer)
    {
        var adapter = Load(directory, folder);
        if (!adapter.TrainableAgain)
            throw new PeftFormatException(
                $"{directory}: holds only what inference needs (VB-LoRA with save_only_topk_weights true: per sub-vector the top-k indices and weights; " +
                "the other logits are gone and would get no gradient), so training cannot start from it. Start from a directory saved with the full logits " +
                "(PEFT's default), or merge this one with `vblora-graph merge --peft`.");
        var initial = Checkpoint.Load(folder.InitialCheckpoint, folder.Identity);
        bool hasHead = adapter.Parameters.ContainsKey(ArtifactNames.HeadWeight);
        if (!hasHead && folder.Manifest.Task.Kind == TaskKind.Classify)
            observer.Message($"{directory} has no classifier in modules_to_save; the head starts from the artifacts' initial values");
        var tensors = initial.Tensors.Select(t => adapter.Parameters.TryGetValue(t.Name, out float[]? v) ? new NamedTensor(t.Name, t.Shape, (float[])v.Clone()) : t).ToList();
        return new Checkpoint(folder.Identity, 0, new DataLoaderPosition(0, 0, seed), tensors);
    }

    static void RequireHead(StoredAdapter adapter, ArtifactFolder artifacts, string why)
    {
        if (artifacts.Manifest.Task.Kind == TaskKind.Classify && !adapter.Parameters.ContainsKey(ArtifactNames.HeadWeight))
            throw new PeftFormatException(
                $"{adapter.Path}: has no classifier head (PEFT keeps it under modules_to_save, e.g. base_model.model.classifier.weight), but the artifacts in {artifacts.Directory} classify; {why}.");
    }

    /// <summary>The directory's values for evaluation through <paramref name="artifacts"/>' eval graph.</summary>
    /// <exception cref="BadInputException">It does not fit, or it has no head and the artifacts classify.</exception>
    public static StoredAdapter LoadForEvaluation(string directory, ArtifactFolder artifacts)
    {
        var adapter = Load(directory, artifacts);
        RequireHead(adapter, artifacts, "evaluate it after training a head with `vblora-run train --init-from-peft`");
        return adapter;
    }
}
