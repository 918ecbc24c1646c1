namespace VbLoraOrt.OrtFormats.Checkpoints;

/// <summary>
/// One optimizer group of a checkpoint. ONNX Runtime's training runtime uses only the group named
/// <see cref="DefaultName"/>: from it, the step and either the moments of every trainable parameter or none (then it
/// starts from zero moments).
/// </summary>
public sealed class OrtOptimizerGroup
{
    /// <summary>The only group ONNX Runtime's optimizer reads.</summary>
    public const string DefaultName = "group0";

    /// <summary>Creates the group; the moment arrays are kept, not copied.</summary>
    /// <exception cref="ArgumentException">An empty name, a negative step, or the same parameter twice.</exception>
    public OrtOptimizerGroup(string name, long step, float initialLearningRate, IReadOnlyList<ParameterMoments> moments)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        ArgumentNullException.ThrowIfNull(moments);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var m in moments)
        {
            ArgumentNullException.ThrowIfNull(m, nameof(moments));
            if (!seen.Add(m.ParameterName))
                throw new ArgumentException($"optimizer group '{name}' holds moments for '{m.ParameterName}' twice.", nameof(moments));
        }
        Name = name;
        Step = step;
        InitialLearningRate = initialLearningRate;
        Moments = moments;
    }

    /// <summary>The group's name.</summary>
    public string Name { get; }

    /// <summary>Optimizer steps already taken; ONNX Runtime runs its next update with step + 1 (bias correction's t).</summary>
    public long Step { get; }

    /// <summary>
    /// The learning rate stored with the group. ONNX Runtime's training runtime keeps it as the group's initial rate
    /// for learning-rate schedulers; it does not use it as the current rate (see the conformance tests).
    /// </summary>
    public float InitialLearningRate { get; }

    /// <summary>Per-parameter AdamW moments; empty when the optimizer has not run yet.</summary>
    public IReadOnlyList<ParameterMoments> Moments { get; }
}
