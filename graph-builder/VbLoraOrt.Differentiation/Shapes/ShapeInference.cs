using Onnx;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Differentiation.Shapes;

/// <summary>
/// Static element-type and shape inference over the default-domain ops this project differentiates. Sizes
/// stay symbolic where the graph only names them (<c>batch</c>, <c>sequence</c>), including through the
/// <c>Shape → Gather → Unsqueeze → Concat → Reshape</c> arithmetic of PyTorch exports. Ops it does not know
/// get unknown facts; callers fall back to run-time <c>Shape</c> arithmetic.
/// </summary>
public static class ShapeInference
{
    /// <summary>Infers facts for every value of <paramref name="model"/>'s main graph.</summary>
    /// <param name="model">The model.</param>
    /// <param name="constants">Its constants (those that trainable tensors do not shadow).</param>
    public static ShapeFacts Infer(OnnxModel model, GraphConstants constants)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(constants);
        var facts = new ShapeFacts();
        foreach (var tensor in model.Graph.Initializer)
            facts.Set(tensor.Name, FromTensor(tensor, constants.Contains(tensor.Name) ? constants.Integers(tensor.Name) : null));
        foreach (var input in model.Graph.Input)
            facts.Set(input.Name, TensorFacts.FromValueInfo(input));

        var declared = model.Graph.ValueInfo.Concat(model.Graph.Output)
            .GroupBy(v => v.Name).ToDictionary(g => g.Key, g => TensorFacts.FromValueInfo(g.First()), StringComparer.Ordinal);
        var ops = new OpShapes(facts, constants, model.Opset);
        foreach (var node in model.Graph.Node)
        {
            TensorFacts[] outputs;
            try
            {
                outputs = node.Domain is "" or "ai.onnx" ? ops.Infer(node) : [];
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or IndexOutOfRangeException
                                          or OverflowException or DivideByZeroException)
            {
                outputs = []; // an inconsistent or unusual node: leave its outputs unknown, run-time arithmetic copes
            }
            for (int i = 0; i < node.Output.Count; i++)
            {
                if (node.Output[i].Length == 0)
                    continue;
                var inferred = i < outputs.Length ? outputs[i] : TensorFacts.Unknown;
                var merged = declared.TryGetValue(node.Output[i], out var d) ? Merge(inferred, d) : inferred;
                facts.Set(node.Output[i], NameUnknownDims(node.Output[i], merged));
            }
        }
        return facts;
    }

    /// <summary>Facts of an initializer (with contents for small integer tensors).</summary>
    internal static TensorFacts FromTensor(TensorProto tensor, long[]? integers)
    {
        var shape = tensor.Dims.Select(Dim.Of).ToArray();
        var content = integers != null && tensor.Dims.Count <= 1 && integers.Length <= OpShapes.MaxContent
            ? integers.Select(Dim.Of).ToArray()
            : null;
        return new TensorFacts(tensor.DataType, shape, content);
    }

    /// <summary>
    /// Gives each unknown dim of a known-rank value its own symbol (<c>?value:axis</c>). That claims nothing but
    /// identity: values that inherit the dim (elementwise ops, transposes, reshapes…) are then known to match it,
    /// so their broadcasts resolve statically; a dim that differs keeps a different symbol.
    /// </summary>
    static TensorFacts NameUnknownDims(string value, TensorFacts facts) =>
        facts.Shape != null && facts.Shape.Any(d => !d.IsStatic && d.Symbol == null)
            ? facts with { Shape = facts.Shape.Select((d, i) => d.IsStatic || d.Symbol != null ? d : Dim.Named($"?{value}:{i}")).ToArray() }
            : facts;

    // Inference wins; a declaration fills in what inference left unknown (exporters name output dims freely,
    // so a declared symbol never replaces an inferred one).
    static TensorFacts Merge(TensorFacts inferred, TensorFacts declared)
    {
        int type = inferred.ElemType != 0 ? inferred.ElemType : declared.ElemType;
        IReadOnlyList<Dim>? shape = inferred.Shape;
        if (shape == null)
            shape = declared.Shape;
        else if (declared.Shape != null && declared.Shape.Count == shape.Count)
            shape = shape.Select((d, i) => d.IsStatic || d.Symbol != null ? d : declared.Shape[i]).ToArray();
        return new TensorFacts(type, shape, inferred.Content);
    }
}
