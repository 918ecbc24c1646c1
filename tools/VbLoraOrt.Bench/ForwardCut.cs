using Onnx;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Differentiation.Shapes;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Bench;

/// <summary>
/// The training graph's forward part as a graph of its own, for a profile-free measure of it: the forward nodes (all
/// but <c>grad/…</c> and what reads them), with the loss and every forward value the backward reads as outputs. ONNX
/// Runtime must then keep those values as the training session does, so the same fusions are blocked, and the cut's run
/// time against the base forward's is the forward part's cost without the profiler's overhead.
/// </summary>
public static class ForwardCut
{
    /// <summary>The cut of <paramref name="training"/> (a clone; the training graph is not changed).</summary>
    /// <exception cref="ArgumentException">The graph has no <c>grad/…</c> node: it is no training graph.</exception>
    public static OnnxModel Of(OnnxModel training)
    {
        ArgumentNullException.ThrowIfNull(training);
        var model = training.Clone();
        var graph = model.Graph;
        var backward = graph.Node.Where(n => n.Name.StartsWith(OrtProfile.BackwardPrefix, StringComparison.Ordinal)).ToHashSet();
        if (backward.Count == 0)
            throw new ArgumentException($"{training.SourcePath ?? "model"}: no '{OrtProfile.BackwardPrefix}' node; not a training graph.", nameof(training));

        // Drop the backward and everything downstream of it (the gradient outputs' Identities).
        var dropped = new HashSet<string>(backward.SelectMany(n => n.Output), StringComparer.Ordinal);
        var forward = new List<NodeProto>();
        foreach (var node in graph.Node)
        {
            if (backward.Contains(node) || node.Input.Any(dropped.Contains))
                dropped.UnionWith(node.Output);
            else
                forward.Add(node);
        }
        var produced = forward.SelectMany(n => n.Output).ToHashSet(StringComparer.Ordinal);
        var saved = backward.SelectMany(n => n.Input).Where(produced.Contains).Distinct(StringComparer.Ordinal).ToList();

        graph.Node.Clear();
        graph.Node.AddRange(forward);
        var facts = ShapeInference.Infer(model, new GraphConstants(model));
        graph.Output.Clear();
        graph.Output.Add(ValueInfos.Float(ArtifactNames.Loss));
        foreach (string name in saved.Where(s => s != ArtifactNames.Loss))
            graph.Output.Add(Declared(name, facts[name], training.SourcePath));
        return model;
    }

    // An output declaration with the type and shape inference found (an unknown axis stays unnamed).
    static ValueInfoProto Declared(string name, TensorFacts facts, string? source)
    {
        if (facts.ElemType == 0 || facts.Shape is null)
            throw new InvalidOperationException($"{source ?? "model"}: the type or rank of '{name}', which the backward reads, is unknown.");
        var shape = new TensorShapeProto();
        foreach (var d in facts.Shape)
            shape.Dim.Add(d.Value is long v ? new TensorShapeProto.Types.Dimension { DimValue = v }
                : d.Symbol is { } symbol ? new TensorShapeProto.Types.Dimension { DimParam = symbol } : new TensorShapeProto.Types.Dimension());
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = facts.ElemType, Shape = shape } } };
    }
}
