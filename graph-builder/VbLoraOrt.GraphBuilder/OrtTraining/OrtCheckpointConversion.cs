using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.Onnx;
using VbLoraOrt.OrtFormats.Checkpoints;
using static VbLoraOrt.GraphBuilder.OrtTraining.OrtTrainingNames;

namespace VbLoraOrt.GraphBuilder.OrtTraining;

/// <summary>
/// Moves training state between the project's checkpoint (DESIGN.md §3) and ONNX Runtime's (§3.7): trainables by
/// name, AdamW moments <c>&lt;p&gt;_m</c>/<c>&lt;p&gt;_v</c> ↔ group0's <c>momentum0</c>/<c>momentum1</c>, and the step.
/// Frozen weights stay initializers of ONNX Runtime's models, so its checkpoint's frozen list is empty.
/// </summary>
public static class OrtCheckpointConversion
{
    /// <summary>ONNX Runtime's checkpoint of <paramref name="state"/> for artifacts <paramref name="manifest"/>.</summary>
    public static OrtCheckpoint ToOrt(ArtifactManifest manifest, Checkpoint state, float learningRate)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(state);
        var parameters = manifest.Trainables
            .Select(t => new CheckpointTensor(t.Name, t.Shape, Required(state, t.Name).Values)).ToList();
        var moments = manifest.Trainables.Select(t => new ParameterMoments(t.Name,
            state.Find(ArtifactNames.FirstMoment(t.Name))?.Values ?? new float[t.ElementCount],
            state.Find(ArtifactNames.SecondMoment(t.Name))?.Values ?? new float[t.ElementCount])).ToList();
        var group = new OrtOptimizerGroup(OrtOptimizerGroup.DefaultName, state.Step, learningRate, moments);
        var properties = new OrtPropertyBag(
            new Dictionary<string, long>(), new Dictionary<string, float>(),
            new Dictionary<string, string> { [ArtifactsIdProperty] = manifest.Identity, [MethodProperty] = manifest.Method });
        return new OrtCheckpoint(parameters, [], [group], properties);
    }

    /// <summary>
    /// The project's checkpoint of ONNX Runtime's <paramref name="checkpoint"/> (read from <paramref name="source"/>)
    /// for artifacts <paramref name="manifest"/>, with the data loader at the start of epoch 0 (seed <paramref name="seed"/>).
    /// </summary>
    /// <exception cref="BadInputException">
    /// The checkpoint names other artifacts, lacks a trainable of the manifest or has one of another shape, or holds
    /// trainables the artifacts do not have.
    /// </exception>
    public static Checkpoint FromOrt(OrtCheckpoint checkpoint, ArtifactManifest manifest, string source, long seed)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(manifest);
        CheckArtifactsId(checkpoint, manifest, source);
        var byName = checkpoint.TrainableParameters.ToDictionary(p => p.Name, StringComparer.Ordinal);
        var extra = byName.Keys.Except(manifest.Trainables.Select(t => t.Name), StringComparer.Ordinal).ToList();
        if (extra.Count > 0)
            throw new BadInputException(
                $"{source}: trainable tensor '{extra[0]}' is not one of the artifacts' trainables ({manifest.Method}, {manifest.Trainables.Count} tensors); the checkpoint belongs to other artifacts.");
        var group = checkpoint.DefaultGroup;
        var moments = group?.Moments.ToDictionary(m => m.ParameterName, StringComparer.Ordinal) ?? [];
        var tensors = new List<NamedTensor>(3 * manifest.Trainables.Count);
        foreach (var t in manifest.Trainables)
        {
            if (!byName.TryGetValue(t.Name, out var parameter))
                throw new BadInputException($"{source}: has no trainable tensor '{t.Name}' {Dims(t.Shape)}, which the artifacts train; it belongs to other artifacts.");
            if (!parameter.Dims.SequenceEqual(t.Shape))
                throw new BadInputException($"{source}: trainable tensor '{t.Name}' has dims {parameter.DimsText}, the artifacts need {Dims(t.Shape)}.");
            tensors.Add(new NamedTensor(t.Name, t.Shape, parameter.Values));
            var m = moments.GetValueOrDefault(t.Name);
            tensors.Add(new NamedTensor(ArtifactNames.FirstMoment(t.Name), t.Shape, m?.FirstMoment ?? new float[t.ElementCount]));
            tensors.Add(new NamedTensor(ArtifactNames.SecondMoment(t.Name), t.Shape, m?.SecondMoment ?? new float[t.ElementCount]));
        }
        return new Checkpoint(manifest.Identity, group?.Step ?? 0, new DataLoaderPosition(0, 0, seed), tensors);
    }

    static void CheckArtifactsId(OrtCheckpoint checkpoint, ArtifactManifest manifest, string source)
    {
        if (checkpoint.Properties.Strings.TryGetValue(ArtifactsIdProperty, out string? id) && id != manifest.Identity)
            throw new BadInputException(
                $"{source}: property '{ArtifactsIdProperty}' is {id[..Math.Min(12, id.Length)]}…, these artifacts are {manifest.Identity[..12]}…; it was prepared for other artifacts.");
    }

    static NamedTensor Required(Checkpoint state, string name) =>
        state.Find(name) ?? throw new ArgumentException($"checkpoint has no tensor '{name}'.", nameof(state));

    static string Dims(IEnumerable<long> dims) => $"[{string.Join(",", dims)}]";
}
