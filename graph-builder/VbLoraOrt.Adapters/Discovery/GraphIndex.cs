using Onnx;

namespace VbLoraOrt.Adapters.Discovery;

/// <summary>Lookup tables over one graph: who produces and who consumes each value, and the initializers.</summary>
public sealed class GraphIndex
{
    readonly Dictionary<string, NodeProto> _producers = new(StringComparer.Ordinal);
    readonly Dictionary<string, List<NodeProto>> _consumers = new(StringComparer.Ordinal);

    /// <summary>Indexes <paramref name="graph"/> as it is now; rebuild after editing.</summary>
    public GraphIndex(GraphProto graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        Graph = graph;
        Initializers = graph.Initializer.GroupBy(t => t.Name).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        GraphOutputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var output in node.Output.Where(o => o.Length > 0))
                _producers[output] = node;
            foreach (var input in node.Input.Where(i => i.Length > 0))
            {
                if (!_consumers.TryGetValue(input, out var list))
                    _consumers[input] = list = [];
                if (!list.Contains(node))
                    list.Add(node);
            }
        }
    }

    /// <summary>The indexed graph.</summary>
    public GraphProto Graph { get; }

    /// <summary>Initializers by name.</summary>
    public IReadOnlyDictionary<string, TensorProto> Initializers { get; }

    /// <summary>Names of the graph's outputs.</summary>
    public IReadOnlySet<string> GraphOutputs { get; }

    /// <summary>The node producing <paramref name="value"/>, or null for graph inputs and initializers.</summary>
    public NodeProto? Producer(string value) => _producers.GetValueOrDefault(value);

    /// <summary>Nodes reading <paramref name="value"/> (each once).</summary>
    public IReadOnlyList<NodeProto> Consumers(string value) =>
        _consumers.TryGetValue(value, out var list) ? list : [];

    /// <summary>How many node inputs (counting repeats) and graph outputs read <paramref name="value"/>.</summary>
    public int UseCount(string value) =>
        Consumers(value).Sum(n => n.Input.Count(i => i == value)) + (GraphOutputs.Contains(value) ? 1 : 0);
}
