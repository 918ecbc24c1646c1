using Onnx;

namespace VbLoraOrt.Differentiation.Pruning;

/// <summary>Dead-code elimination: removes what no graph output depends on.</summary>
public static class UnusedNodes
{
    /// <summary>
    /// Removes nodes none of whose outputs a graph output depends on, then initializers and value infos nothing
    /// reads any more (graph inputs stay: they are the model's interface). Returns the number of nodes removed.
    /// </summary>
    public static int Remove(GraphProto graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var needed = new HashSet<string>(graph.Output.Select(o => o.Name), StringComparer.Ordinal);
        // Names read inside subgraphs (If/Loop bodies may read outer values) count as needed.
        foreach (var node in graph.Node)
            foreach (var attribute in node.Attribute)
                foreach (var body in attribute.G is { } g ? [g] : attribute.Graphs)
                    foreach (var inner in body.Node)
                        needed.UnionWith(inner.Input);

        var kept = new List<NodeProto>(graph.Node.Count);
        for (int i = graph.Node.Count - 1; i >= 0; i--)
        {
            var node = graph.Node[i];
            if (!node.Output.Any(o => o.Length > 0 && needed.Contains(o)))
                continue;
            kept.Add(node);
            needed.UnionWith(node.Input);
        }
        int removed = graph.Node.Count - kept.Count;
        if (removed == 0)
            return 0;
        kept.Reverse();
        graph.Node.Clear();
        graph.Node.Add(kept);

        var inputs = graph.Input.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var unusedInitializers = graph.Initializer.Where(t => !needed.Contains(t.Name) && !inputs.Contains(t.Name)).ToList();
        foreach (var t in unusedInitializers)
            graph.Initializer.Remove(t);
        var produced = graph.Node.SelectMany(n => n.Output).ToHashSet(StringComparer.Ordinal);
        foreach (var info in graph.ValueInfo.Where(v => !produced.Contains(v.Name)).ToList())
            graph.ValueInfo.Remove(info);
        return removed;
    }
}
