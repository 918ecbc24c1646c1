using Onnx;
using VbLoraOrt.Differentiation.Composites;
using VbLoraOrt.Differentiation.Core;
using VbLoraOrt.Differentiation.Shapes;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Differentiation;

/// <summary>
/// Reverse-mode differentiation of an ONNX graph into ordinary default-domain ops. Only nodes between the
/// loss and the requested tensors are differentiated; each input gets a gradient only when a requested
/// tensor lies behind it, so frozen weights get none and nothing below the lowest trainable tensor is touched.
/// </summary>
public static class ReverseDifferentiator
{
    /// <summary>Scope prefix of every name the backward pass adds.</summary>
    public const string Scope = "grad";

    /// <summary>
    /// Appends the backward pass of <paramref name="loss"/> with respect to <paramref name="wrt"/> to
    /// <paramref name="model"/>'s graph. The loss's seed gradient is 1. On failure the graph is left unchanged.
    /// </summary>
    /// <param name="model">The model; its graph is extended in place.</param>
    /// <param name="loss">Name of the loss value (a scalar or one-element tensor).</param>
    /// <param name="wrt">Trainable tensors: graph inputs or initializers.</param>
    /// <param name="fusionShaped">
    /// Shape the backward for fewer passes (DESIGN.md §4.2): the same gradients. Off only to compare.
    /// </param>
    /// <returns>The gradient value of each tensor in <paramref name="wrt"/>; wire them to outputs as needed.</returns>
    /// <exception cref="DifferentiationException">
    /// An op without a rule lies on a path that needs a gradient (the message names op, node and path), a name
    /// is not in the graph, or a tensor does not influence the loss.
    /// </exception>
    public static GradientGraph Differentiate(OnnxModel model, string loss, IReadOnlyList<string> wrt, bool fusionShaped = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(wrt);
        var graph = model.Graph;
        long opset = model.Opset;
        if (opset < 11)
            throw new DifferentiationException($"the model uses opset {opset}; differentiation needs opset 11 or newer.");
        CheckNames(graph, loss, wrt);

        var trainables = new HashSet<string>(wrt, StringComparer.Ordinal);
        var constants = new GraphConstants(model, trainables);
        var facts = ShapeInference.Infer(model, constants);
        var path = DifferentiablePath.Find(graph, opset, facts, loss, trainables);
        CheckPath(path, opset, loss, wrt, trainables);

        int nodeCount = graph.Node.Count, initializerCount = graph.Initializer.Count;
        try
        {
            var builder = new BackwardBuilder(new GraphEmitter(graph, Scope), opset, facts, constants, fusionShaped, graph.Node);
            // Known subgraphs (torch's GELU and LayerNorm, a low-rank-adapted weight) are differentiated as one node each.
            var nodes = CompositePatterns.Collapse(path.Nodes, new PatternView(path.Nodes, constants, opset, facts));
            var gradients = Backpropagate(builder, path, nodes, loss);
            var result = wrt.Distinct().ToDictionary(w => w, w => gradients[w], StringComparer.Ordinal);
            RemoveUnread(graph, nodeCount, initializerCount, result.Values);
            var emitted = graph.Node.Skip(nodeCount).ToList();
            return new GradientGraph(result, emitted, path.Values);
        }
        catch
        {
            Truncate(graph.Node, nodeCount);
            Truncate(graph.Initializer, initializerCount);
            throw;
        }
    }

    static Dictionary<string, string> Backpropagate(BackwardBuilder builder, DifferentiablePath path, IReadOnlyList<NodeProto> nodes, string loss)
    {
        var contributions = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        void Contribute(string value, string grad)
        {
            if (!contributions.TryGetValue(value, out var list))
                contributions[value] = list = [];
            list.Add(grad);
        }
        Contribute(loss, Seed(builder, loss));

        var summed = new Dictionary<string, string>(StringComparer.Ordinal);
        string? GradientOf(string value)
        {
            if (summed.TryGetValue(value, out var g))
                return g;
            if (!contributions.TryGetValue(value, out var list))
                return null;
            return summed[value] = builder.Sum(list, value);
        }

        for (int n = nodes.Count - 1; n >= 0; n--)
        {
            var node = nodes[n];
            var rule = GradientRules.For(node, builder.Opset)!.Rule!;
            var outputGrads = node.Output.Select(o => o.Length > 0 && path.Values.Contains(o) ? GradientOf(o) : null).ToArray();
            var wants = node.Input.Select((_, k) => path.NeedsGradient(node, k)).ToArray();
            builder.BeginNode(node);
            var grads = rule(new GradientContext(node, outputGrads, wants, builder, path, summed.GetValueOrDefault));
            for (int k = 0; k < wants.Length; k++)
            {
                if (!wants[k])
                    continue;
                string grad = k < grads.Length && grads[k] is { } g ? g
                    : throw new InvalidOperationException($"gradient rule for {node.OpType} returned no gradient for input {k} of node '{node.Name}'");
                Contribute(node.Input[k], grad);
            }
        }
        return path.Values.Where(contributions.ContainsKey).ToDictionary(v => v, v => GradientOf(v)!, StringComparer.Ordinal);
    }

    // Drops backward nodes (from index `firstNode` on) and constants whose outputs neither lead to a gradient
    // in `results` nor are graph outputs, e.g. a transpose BackwardBuilder.TransposeGrad composed away.
    static void RemoveUnread(GraphProto graph, int firstNode, int firstInitializer, IEnumerable<string> results)
    {
        var read = new HashSet<string>(results.Concat(graph.Output.Select(o => o.Name)), StringComparer.Ordinal);
        foreach (var node in graph.Node.Take(firstNode))
            read.UnionWith(node.Input);
        for (int n = graph.Node.Count - 1; n >= firstNode; n--)
        {
            var node = graph.Node[n];
            if (node.Output.Any(read.Contains))
                read.UnionWith(node.Input);
            else
                graph.Node.RemoveAt(n);
        }
        for (int i = graph.Initializer.Count - 1; i >= firstInitializer; i--)
            if (!read.Contains(graph.Initializer[i].Name))
                graph.Initializer.RemoveAt(i);
    }

    // d loss / d loss = 1, shaped like the loss.
    static string Seed(BackwardBuilder builder, string loss)
    {
        var facts = builder.Facts[loss];
        int type = facts.ElemType != 0 ? facts.ElemType : throw new DifferentiationException($"the element type of loss '{loss}' is unknown.");
        if (facts.Shape is { Count: 0 })
            return builder.Scalar(1, type);
        if (facts.StaticElementCount() is long n && n != 1)
            throw new DifferentiationException($"loss '{loss}' has {n} elements ({facts}); reduce it to a scalar first.");
        return builder.Filled(builder.ShapeOf(loss), 1, type);
    }

    static void CheckNames(GraphProto graph, string loss, IReadOnlyList<string> wrt)
    {
        if (wrt.Count == 0)
            throw new DifferentiationException("no tensors to differentiate with respect to; pass the trainable tensors' names.");
        var produced = new HashSet<string>(graph.Node.SelectMany(n => n.Output), StringComparer.Ordinal);
        var declared = new HashSet<string>(graph.Input.Select(i => i.Name).Concat(graph.Initializer.Select(t => t.Name)), StringComparer.Ordinal);
        if (!produced.Contains(loss) && !declared.Contains(loss))
            throw new DifferentiationException($"loss '{loss}' is not a value of graph '{graph.Name}'.");
        foreach (var w in wrt)
            if (!declared.Contains(w))
                throw new DifferentiationException(
                    $"'{w}' is neither a graph input nor an initializer of graph '{graph.Name}'; trainable tensors must be one or the other.");
    }

    static void CheckPath(DifferentiablePath path, long opset, string loss, IReadOnlyList<string> wrt, HashSet<string> trainables)
    {
        if (path.Values.Count == 0)
            throw new DifferentiationException(
                $"loss '{loss}' does not depend on any of [{string.Join(", ", wrt)}] through differentiable ops; nothing to differentiate.");
        foreach (var w in wrt)
            if (!path.Values.Contains(w))
                throw new DifferentiationException(
                    $"trainable tensor '{w}' does not influence loss '{loss}' (its gradient would always be zero); freeze it or fix the graph.");
        foreach (var node in path.Nodes)
        {
            var entry = node.Domain is "" or "ai.onnx" ? GradientRules.Find(node.OpType, opset) : null;
            string op = node.Domain is "" or "ai.onnx" ? node.OpType : $"{node.Domain}.{node.OpType}";
            if (entry?.Rule == null)
                throw new DifferentiationException(
                    $"no gradient rule for op '{op}' (node '{node.Name}', opset {opset}), which lies between a trainable tensor and the loss: " +
                    $"{path.Describe(node, trainables, loss)}. Add a rule for {op} in Differentiation/Rules, or freeze the tensors behind it.");
            for (int k = entry.GradientOutputs ?? node.Output.Count; k < node.Output.Count; k++)
                if (path.Values.Contains(node.Output[k]))
                    throw new DifferentiationException(
                        $"cannot differentiate {op} node '{node.Name}': its output {k} ('{node.Output[k]}') leads to the loss, but the rule " +
                        $"only differentiates the first {entry.GradientOutputs} output(s). Path: {path.Describe(node, trainables, loss)}.");
            if (entry.Guard?.Invoke(node) is { } reason)
                throw new DifferentiationException($"cannot differentiate {op} node '{node.Name}': {reason}. Path: {path.Describe(node, trainables, loss)}.");
        }
    }

    static void Truncate<T>(Google.Protobuf.Collections.RepeatedField<T> list, int count)
    {
        while (list.Count > count)
            list.RemoveAt(list.Count - 1);
    }
}
