using Onnx;

namespace VbLoraOrt.Onnx;

/// <summary>
/// The one source of fresh value and node names for a graph: knows every name already used and never
/// hands one out twice.
/// </summary>
public sealed class UniqueNames
{
    readonly HashSet<string> _used = new(StringComparer.Ordinal);

    /// <summary>Starts from every name used in <paramref name="graph"/> (values, nodes, initializers).</summary>
    public UniqueNames(GraphProto graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        foreach (var v in graph.Input) _used.Add(v.Name);
        foreach (var v in graph.Output) _used.Add(v.Name);
        foreach (var v in graph.ValueInfo) _used.Add(v.Name);
        foreach (var t in graph.Initializer) _used.Add(t.Name);
        foreach (var n in graph.Node)
        {
            _used.Add(n.Name);
            foreach (var o in n.Output) _used.Add(o);
            foreach (var i in n.Input) _used.Add(i);
        }
    }

    /// <summary>True when <paramref name="name"/> is taken.</summary>
    public bool IsUsed(string name) => _used.Contains(name);

    /// <summary>Reserves <paramref name="name"/> exactly; throws if it is taken.</summary>
    public string Reserve(string name)
    {
        if (!_used.Add(name))
            throw new InvalidOperationException($"name '{name}' is already used in the graph");
        return name;
    }

    /// <summary><paramref name="prefix"/> itself when free, else <c>prefix_1</c>, <c>prefix_2</c>…</summary>
    public string Fresh(string prefix)
    {
        if (_used.Add(prefix))
            return prefix;
        for (int i = 1; ; i++)
        {
            string candidate = $"{prefix}_{i}";
            if (_used.Add(candidate))
                return candidate;
        }
    }
}
