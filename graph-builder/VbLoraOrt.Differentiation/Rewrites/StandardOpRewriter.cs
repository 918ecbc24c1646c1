using Onnx;
using VbLoraOrt.Differentiation.Composites;
using VbLoraOrt.Differentiation.Pruning;
using VbLoraOrt.Differentiation.Shapes;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Differentiation.Rewrites;

/// <summary>
/// Turns a forward graph's torch-decomposed LayerNorms into standard opset-17 <c>LayerNormalization</c> nodes (raising
/// the opset from 13–16 to 17 when it is exact, see <see cref="OpsetUpgrade"/>), so ONNX Runtime runs them as one
/// kernel in the training and evaluation graphs too, where its own fusions cannot fire because the backward reads
/// the intermediates. Before that it moves exact GELUs' <c>1/√2</c> into the weights (<see cref="GeluPrescale"/>) and
/// splits attention's key transposes (<see cref="KeySwapRewrite"/>). The result computes the same function; the graph
/// is unchanged when nothing matches or the opset cannot be raised.
/// </summary>
public static class StandardOpRewriter
{
    /// <summary>
    /// Rewrites <paramref name="model"/> in place. With <paramref name="statistics"/> each new node also outputs its
    /// <c>Mean</c> and <c>InvStdDev</c> for the backward pass; <see cref="DropUnreadStatistics"/> removes those nothing read.
    /// </summary>
    public static StandardOpRewrite Apply(OnnxModel model, bool statistics)
    {
        ArgumentNullException.ThrowIfNull(model);
        var graph = model.Graph;
        int gelus = GeluPrescale.Apply(graph, new GraphConstants(model), model.Opset);
        int keys = KeySwapRewrite.Apply(graph);
        var constants = new GraphConstants(model);
        var facts = ShapeInference.Infer(model, constants);
        var view = new PatternView(graph.Node, constants, model.Opset);
        var outputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var names = new UniqueNames(graph);
        var rewrites = graph.Node.Where(n => n.OpType == "Div" && n.Domain is "" or "ai.onnx")
            .Select(n => LayerNormRewrite.Match(n, view, facts, constants, outputs, names, statistics).Rewrite)
            .OfType<LayerNormRewrite.Rewrite>().ToList();
        if (rewrites.Count == 0)
            return new StandardOpRewrite(0, model.Opset, null, gelus, keys);
        if (OpsetUpgrade.To17(model) is { } reason)
            return new StandardOpRewrite(0, model.Opset, $"{rewrites.Count} LayerNorm subgraphs kept as they are: {reason}", gelus, keys);

        var replacedAt = rewrites.ToDictionary(r => r.Covered[^1], r => r.Replacement, (IEqualityComparer<NodeProto>)ReferenceEqualityComparer.Instance);
        var covered = rewrites.SelectMany(r => r.Covered).ToHashSet((IEqualityComparer<NodeProto>)ReferenceEqualityComparer.Instance);
        var nodes = graph.Node.Where(n => !covered.Contains(n) || replacedAt.ContainsKey(n))
            .Select(n => replacedAt.TryGetValue(n, out var replacement) ? replacement : n).ToList();
        graph.Node.Clear();
        graph.Node.Add(nodes);
        // The ε, exponent and axes constants only the replaced nodes read: Constant nodes, then initializers.
        UnusedNodes.Remove(graph);
        var read = graph.Node.SelectMany(n => n.Input).ToHashSet(StringComparer.Ordinal);
        foreach (var unread in covered.SelectMany(n => n.Input).Distinct().Where(i => !read.Contains(i)).ToList())
            if (graph.Initializer.FirstOrDefault(t => t.Name == unread) is { } tensor && graph.Input.All(i => i.Name != unread))
                graph.Initializer.Remove(tensor);
        return new StandardOpRewrite(rewrites.Count, model.Opset, null, gelus, keys);
    }

    /// <summary>Removes the statistics outputs of LayerNormalization nodes that nothing reads; returns how many nodes lost them.</summary>
    public static int DropUnreadStatistics(GraphProto graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var read = graph.Node.SelectMany(n => n.Input).Concat(graph.Output.Select(o => o.Name)).ToHashSet(StringComparer.Ordinal);
        int dropped = 0;
        foreach (var node in graph.Node.Where(n => n.OpType == "LayerNormalization" && n.Domain is "" or "ai.onnx" && n.Output.Count > 1))
        {
            if (node.Output.Skip(1).Any(read.Contains))
                continue;
            while (node.Output.Count > 1)
                node.Output.RemoveAt(node.Output.Count - 1);
            dropped++;
        }
        return dropped;
    }
}

/// <summary>What <see cref="StandardOpRewriter.Apply"/> did.</summary>
/// <param name="LayerNormalizations">Decomposed LayerNorms replaced by one node each.</param>
/// <param name="Opset">The model's default-domain opset afterwards.</param>
/// <param name="NotApplied">Why LayerNorm matches were left alone, or null.</param>
/// <param name="PrescaledGelus">Exact GELUs whose <c>1/√2</c> moved into the product's weight and bias (<see cref="GeluPrescale"/>).</param>
/// <param name="SplitKeyTransposes">Attention key transposes split into a head split and a foldable swap (<see cref="KeySwapRewrite"/>).</param>
public sealed record StandardOpRewrite(int LayerNormalizations, long Opset, string? NotApplied, int PrescaledGelus = 0, int SplitKeyTransposes = 0);
