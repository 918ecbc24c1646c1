namespace VbLoraOrt.Differentiation.Shapes;

/// <summary>The facts static inference found for each value of a graph (<see cref="ShapeInference"/>).</summary>
public sealed class ShapeFacts
{
    readonly Dictionary<string, TensorFacts> _facts = new(StringComparer.Ordinal);

    /// <summary>Facts of <paramref name="name"/>; <see cref="TensorFacts.Unknown"/> when nothing is known.</summary>
    public TensorFacts this[string name] => _facts.GetValueOrDefault(name) ?? TensorFacts.Unknown;

    /// <summary>Records facts of <paramref name="name"/>, replacing earlier ones.</summary>
    public void Set(string name, TensorFacts facts) => _facts[name] = facts;

    /// <summary>True when anything was recorded for <paramref name="name"/>.</summary>
    public bool Contains(string name) => _facts.ContainsKey(name);
}
