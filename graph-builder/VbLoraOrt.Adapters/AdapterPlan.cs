using VbLoraOrt.Contracts.Artifacts;

namespace VbLoraOrt.Adapters;

/// <summary>
/// What a method will add for a list of targets, validated: the targets, the rank of every A/B pair, and the
/// trainable tensors (names, shapes, optimizer groups).
/// </summary>
/// <param name="Method">The method's <see cref="IAdapterMethod.Name"/>.</param>
/// <param name="Targets">The adapted linear layers, in a fixed order.</param>
/// <param name="Rank">The rank <c>r</c> of every target's <c>A: [r, in]</c> and <c>B: [out, r]</c>.</param>
/// <param name="Parameters">The trainable tensors, in a fixed order.</param>
public sealed record AdapterPlan(
    string Method,
    IReadOnlyList<LinearModule> Targets,
    int Rank,
    IReadOnlyList<TrainableTensor> Parameters)
{
    /// <summary>Total number of trainable scalars.</summary>
    public long ParameterCount => Parameters.Sum(p => p.ElementCount);

    /// <summary>
    /// Checks that this plan is what <paramref name="method"/>, as configured, plans for <see cref="Targets"/> (same
    /// method, rank, tensor names, groups and shapes).
    /// </summary>
    /// <exception cref="ArgumentException">The plan was made by another method or with other options.</exception>
    public void RequireMadeBy(IAdapterMethod method)
    {
        ArgumentNullException.ThrowIfNull(method);
        var again = method.Plan(Targets);
        static string Describe(TrainableTensor t) => $"{t.Name}:{t.Group}:[{string.Join(",", t.Shape)}]";
        bool same = Method == method.Name && Rank == again.Rank
            && again.Parameters.Select(Describe).SequenceEqual(Parameters.Select(Describe), StringComparer.Ordinal);
        if (!same)
            throw new ArgumentException($"the plan was made by '{Method}' with other options; plan the targets with this method.", "plan");
    }

    /// <summary>
    /// Checks that <paramref name="values"/> holds every parameter of the plan with the right element count.
    /// </summary>
    /// <exception cref="AdapterException">A parameter is missing, has the wrong size, or is unknown.</exception>
    public void CheckValues(IReadOnlyDictionary<string, float[]> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        foreach (var p in Parameters)
        {
            if (!values.TryGetValue(p.Name, out float[]? v))
                throw new AdapterException($"{Method}: no value given for parameter '{p.Name}' [{string.Join(",", p.Shape)}].");
            if (v.LongLength != p.ElementCount)
                throw new AdapterException(
                    $"{Method}: parameter '{p.Name}' has {v.LongLength} values but its shape [{string.Join(",", p.Shape)}] needs {p.ElementCount}.");
        }
        foreach (string name in values.Keys)
            if (Parameters.All(p => p.Name != name))
                throw new AdapterException($"{Method}: '{name}' is not a parameter of this adapter (was it planned for other targets?).");
    }
}
