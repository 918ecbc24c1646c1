using Onnx;
using VbLoraOrt.Differentiation.Shapes;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Differentiation.Composites;

/// <summary>What a pattern may ask about the forward graph: producers, consumers on the differentiable path, constants.</summary>
internal sealed class PatternView
{
    readonly Dictionary<string, NodeProto> _producer = new(StringComparer.Ordinal);
    readonly Dictionary<string, List<NodeProto>> _pathConsumers = new(StringComparer.Ordinal);
    readonly GraphConstants _constants;
    readonly ShapeFacts? _facts;

    /// <param name="pathNodes">The nodes patterns may cover.</param>
    /// <param name="constants">The graph's constants.</param>
    /// <param name="opset">The model's default-domain opset.</param>
    /// <param name="facts">Inferred shapes; without them <see cref="Rank"/> knows nothing.</param>
    public PatternView(IEnumerable<NodeProto> pathNodes, GraphConstants constants, long opset, ShapeFacts? facts = null)
    {
        _constants = constants;
        _facts = facts;
        Opset = opset;
        foreach (var node in pathNodes)
        {
            foreach (var o in node.Output.Where(o => o.Length > 0))
                _producer[o] = node;
            foreach (var i in node.Input.Where(i => i.Length > 0).Distinct())
            {
                if (!_pathConsumers.TryGetValue(i, out var list))
                    _pathConsumers[i] = list = [];
                list.Add(node);
            }
        }
    }

    /// <summary>The model's default-domain opset.</summary>
    public long Opset { get; }

    /// <summary>The path node producing <paramref name="value"/>, when it is one of <paramref name="opTypes"/>.</summary>
    public NodeProto? Producer(string value, params string[] opTypes) =>
        _producer.TryGetValue(value, out var node) && node.Domain is "" or "ai.onnx" && opTypes.Contains(node.OpType) ? node : null;

    /// <summary>Path nodes reading <paramref name="value"/>.</summary>
    public IReadOnlyList<NodeProto> Consumers(string value) => _pathConsumers.GetValueOrDefault(value) ?? [];

    /// <summary>The value of a one-element floating constant, or null when <paramref name="value"/> is not one.</summary>
    public double? Scalar(string value) => _constants.Contains(value) ? _constants.Scalar(value) : null;

    /// <summary>True when <paramref name="value"/> is a constant (a frozen initializer or a Constant node's output).</summary>
    public bool IsConstant(string value) => _constants.Contains(value);

    /// <summary>The static rank of <paramref name="value"/>, or null when unknown.</summary>
    public int? Rank(string value) => _facts?[value].Rank;

    /// <summary>Integer contents of a constant, or null.</summary>
    public long[]? Integers(string value) => _constants.Contains(value) ? _constants.Integers(value) : null;

    /// <summary>
    /// Null when every path consumer of the values <paramref name="covered"/> produces (except <paramref name="result"/>)
    /// is itself covered: then no gradient reaches them from outside. Otherwise why not, naming the value and node.
    /// </summary>
    public string? Enclosed(IReadOnlyList<NodeProto> covered, string result)
    {
        var inside = new HashSet<NodeProto>(covered, ReferenceEqualityComparer.Instance);
        foreach (var node in covered)
            foreach (var value in node.Output.Where(o => o.Length > 0 && o != result))
                if (Consumers(value).FirstOrDefault(c => !inside.Contains(c)) is { } outside)
                    return $"intermediate '{value}' is also read by {outside.OpType} node '{outside.Name}'";
        return null;
    }

    /// <summary>ReduceMean's constant axes (attribute before opset 18, input after) and whether it keeps dims.</summary>
    public (long[]? Axes, bool KeepDims) MeanAxes(NodeProto reduceMean)
    {
        long[]? axes = Opset < 18 ? Attr.GetInts(reduceMean, "axes")
            : reduceMean.Input.Count > 1 && reduceMean.Input[1].Length > 0 ? Integers(reduceMean.Input[1]) : null;
        return (axes, Attr.GetInt(reduceMean, "keepdims", 1) != 0);
    }
}
