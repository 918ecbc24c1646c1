using Onnx;
using VbLoraOrt.Differentiation.Shapes;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Differentiation;

/// <summary>
/// The part of a graph a gradient must flow through: values that depend on a trainable tensor (through inputs
/// a gradient can flow to) and that the loss depends on. Everything else — frozen weights, activations below
/// the lowest trainable tensor, shape arithmetic — is outside and never differentiated.
/// </summary>
internal sealed class DifferentiablePath
{
    readonly Dictionary<string, NodeProto> _producer = new(StringComparer.Ordinal);
    readonly Dictionary<string, List<NodeProto>> _consumers = new(StringComparer.Ordinal);
    readonly long _opset;

    DifferentiablePath(long opset) => _opset = opset;

    /// <summary>Values on the path (trainable tensors and loss included).</summary>
    public HashSet<string> Values { get; } = new(StringComparer.Ordinal);

    /// <summary>Nodes on the path, in forward (topological) order.</summary>
    public List<NodeProto> Nodes { get; } = [];

    /// <summary>True when a gradient must flow to input <paramref name="index"/> of path node <paramref name="node"/>.</summary>
    public bool NeedsGradient(NodeProto node, int index) =>
        Values.Contains(node.Input[index]) && CarriesGradient(node, index);

    /// <summary>The path nodes' inputs <paramref name="value"/> feeds that carry a gradient back to it, one per contribution.</summary>
    public IEnumerable<(NodeProto Node, int Input)> GradientReaders(string value) =>
        from node in (_consumers.GetValueOrDefault(value) ?? []).Where(Nodes.Contains)
        from k in Enumerable.Range(0, node.Input.Count)
        where node.Input[k] == value && CarriesGradient(node, k)
        select (node, k);

    /// <summary>Finds the path from <paramref name="trainables"/> to <paramref name="loss"/>.</summary>
    public static DifferentiablePath Find(GraphProto graph, long opset, ShapeFacts facts, string loss, IReadOnlyCollection<string> trainables)
    {
        var path = new DifferentiablePath(opset);
        foreach (var node in graph.Node)
        {
            foreach (var o in node.Output.Where(o => o.Length > 0))
                path._producer[o] = node;
            foreach (var i in node.Input.Where(i => i.Length > 0).Distinct())
            {
                if (!path._consumers.TryGetValue(i, out var list))
                    path._consumers[i] = list = [];
                list.Add(node);
            }
        }

        // Forward: what depends on a trainable tensor through a differentiable input, with a floating type.
        var dependent = new HashSet<string>(trainables, StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            bool reached = node.Input.Where((i, k) => i.Length > 0 && dependent.Contains(i) && path.CarriesGradient(node, k)).Any();
            if (!reached)
                continue;
            foreach (var o in node.Output.Where(o => o.Length > 0))
                if (facts[o].ElemType is 0 || ElementType.IsFloating(facts[o].ElemType))
                    dependent.Add(o);
        }
        if (!dependent.Contains(loss))
            return path; // empty: the caller explains

        // Backward: of those, what the loss depends on.
        path.Values.Add(loss);
        for (int n = graph.Node.Count - 1; n >= 0; n--)
        {
            var node = graph.Node[n];
            if (!node.Output.Any(path.Values.Contains))
                continue;
            bool any = false;
            for (int k = 0; k < node.Input.Count; k++)
                if (node.Input[k].Length > 0 && dependent.Contains(node.Input[k]) && path.CarriesGradient(node, k))
                {
                    path.Values.Add(node.Input[k]);
                    any = true;
                }
            if (any)
                path.Nodes.Add(node);
        }
        path.Nodes.Reverse();
        return path;
    }

    // Ops without a rule are assumed to pass gradients through every input, so that they show up on the
    // path and the caller can name them; non-differentiable ops and index/shape inputs stop the flow.
    bool CarriesGradient(NodeProto node, int index)
    {
        var entry = GradientRules.For(node, _opset);
        return entry == null || entry.IsDifferentiableInput(index);
    }

    /// <summary>
    /// A readable chain from a trainable tensor through <paramref name="node"/> to the loss:
    /// <c>W → MatMul 'mm' → h → Foo 'f' → y → … → loss</c>.
    /// </summary>
    public string Describe(NodeProto node, IReadOnlyCollection<string> trainables, string loss)
    {
        var back = new List<string>();
        string? value = node.Input.FirstOrDefault(i => i.Length > 0 && Values.Contains(i));
        while (value != null && !trainables.Contains(value) && _producer.TryGetValue(value, out var producer) && Nodes.Contains(producer))
        {
            back.Add(value);
            back.Add(Label(producer));
            value = producer.Input.FirstOrDefault(i => i.Length > 0 && Values.Contains(i));
        }
        if (value != null)
            back.Add(value);
        back.Reverse();

        var forward = new List<string> { Label(node) };
        value = node.Output.FirstOrDefault(Values.Contains);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (value != null && value != loss && seen.Add(value))
        {
            forward.Add(value);
            var next = _consumers.GetValueOrDefault(value)?.FirstOrDefault(n => Nodes.Contains(n));
            if (next == null)
                break;
            forward.Add(Label(next));
            value = next.Output.FirstOrDefault(Values.Contains);
        }
        forward.Add(loss);
        // Long chains keep their ends and the steps around the node: trainable → … → node → … → loss.
        return $"{Elide(back, keepStart: 3, keepEnd: 6)} → {Elide(forward, keepStart: 7, keepEnd: 4)}";
    }

    static string Label(NodeProto node) => $"{node.OpType} '{node.Name}'";

    static string Elide(List<string> steps, int keepStart, int keepEnd) =>
        steps.Count <= keepStart + keepEnd + 1
            ? string.Join(" → ", steps)
            : $"{string.Join(" → ", steps.Take(keepStart))} → … ({steps.Count - keepStart - keepEnd} steps) … → {string.Join(" → ", steps.TakeLast(keepEnd))}";
}
