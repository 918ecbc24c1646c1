namespace VbLoraOrt.OrtFormats.Checkpoints;

/// <summary>
/// The content of an ONNX Runtime on-device training checkpoint (flatbuffer file identifier "ODTC", format version
/// <see cref="FormatVersion"/>): the trainable and frozen parameters, the optimizer groups, and the property bag.
/// Read with <see cref="OrtCheckpointReader"/>, written with <see cref="OrtCheckpointWriter"/>.
/// </summary>
/// <remarks>
/// What ONNX Runtime's training runtime needs beyond the format: every graph input of the training model that is a
/// parameter must be here (frozen parameters only when the model takes them as inputs rather than initializers),
/// and if <see cref="OrtOptimizerGroup.DefaultName"/> holds moments, it must hold them for every trainable
/// parameter. The constructor enforces the second rule; the first needs the model (see the conformance tests).
/// </remarks>
public sealed class OrtCheckpoint
{
    /// <summary>The checkpoint format version written and read: ONNX Runtime accepts exactly its own version.</summary>
    public const int FormatVersion = 2;

    /// <summary>Creates the checkpoint; tensors and arrays are kept, not copied.</summary>
    /// <exception cref="ArgumentException">
    /// A parameter name used twice, two groups with one name, moments for a name that is not a trainable parameter
    /// or whose length differs from the parameter's, or a group that has moments for some trainable parameters only.
    /// </exception>
    public OrtCheckpoint(
        IReadOnlyList<CheckpointTensor> trainableParameters, IReadOnlyList<CheckpointTensor> frozenParameters,
        IReadOnlyList<OrtOptimizerGroup> optimizerGroups, OrtPropertyBag properties)
    {
        ArgumentNullException.ThrowIfNull(trainableParameters);
        ArgumentNullException.ThrowIfNull(frozenParameters);
        ArgumentNullException.ThrowIfNull(optimizerGroups);
        ArgumentNullException.ThrowIfNull(properties);
        var trainable = new Dictionary<string, CheckpointTensor>(StringComparer.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in trainableParameters.Concat(frozenParameters))
        {
            ArgumentNullException.ThrowIfNull(p, nameof(trainableParameters));
            if (!names.Add(p.Name))
                throw new ArgumentException($"parameter '{p.Name}' appears twice among the trainable and frozen parameters.");
        }
        foreach (var p in trainableParameters)
            trainable.Add(p.Name, p);
        var groupNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var group in optimizerGroups)
        {
            ArgumentNullException.ThrowIfNull(group, nameof(optimizerGroups));
            if (!groupNames.Add(group.Name))
                throw new ArgumentException($"optimizer group '{group.Name}' appears twice.", nameof(optimizerGroups));
            CheckMoments(group, trainable);
        }
        TrainableParameters = trainableParameters;
        FrozenParameters = frozenParameters;
        OptimizerGroups = optimizerGroups;
        Properties = properties;
    }

    static void CheckMoments(OrtOptimizerGroup group, Dictionary<string, CheckpointTensor> trainable)
    {
        foreach (var m in group.Moments)
        {
            if (!trainable.TryGetValue(m.ParameterName, out var parameter))
                throw new ArgumentException(
                    $"optimizer group '{group.Name}' holds moments for '{m.ParameterName}', which is not a trainable parameter.");
            if (m.FirstMoment.Length != parameter.Values.Length || m.SecondMoment.Length != parameter.Values.Length)
                throw new ArgumentException(
                    $"optimizer group '{group.Name}': the moments of '{m.ParameterName}' have {m.FirstMoment.Length} and " +
                    $"{m.SecondMoment.Length} values, the parameter {parameter.Values.Length} (dims {parameter.DimsText}).");
        }
        if (group.Moments.Count > 0 && group.Moments.Count != trainable.Count)
        {
            var missing = trainable.Keys.Except(group.Moments.Select(m => m.ParameterName)).Order(StringComparer.Ordinal);
            throw new ArgumentException(
                $"optimizer group '{group.Name}' holds moments for {group.Moments.Count} of {trainable.Count} trainable " +
                $"parameters (missing: {string.Join(", ", missing.Take(5))}); ONNX Runtime needs all or none.");
        }
    }

    /// <summary>Parameters with gradients (<c>requires_grad_params</c>), in file order.</summary>
    public IReadOnlyList<CheckpointTensor> TrainableParameters { get; }

    /// <summary>Parameters without gradients (<c>frozen_params</c>), in file order.</summary>
    public IReadOnlyList<CheckpointTensor> FrozenParameters { get; }

    /// <summary>The optimizer groups, in file order.</summary>
    public IReadOnlyList<OrtOptimizerGroup> OptimizerGroups { get; }

    /// <summary>User properties.</summary>
    public OrtPropertyBag Properties { get; }

    /// <summary>The group ONNX Runtime's optimizer uses, or null when the checkpoint has none.</summary>
    public OrtOptimizerGroup? DefaultGroup =>
        OptimizerGroups.FirstOrDefault(g => g.Name == OrtOptimizerGroup.DefaultName);
}
