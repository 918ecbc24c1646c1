using Onnx;

namespace VbLoraOrt.Differentiation.Composites;

/// <summary>
/// What a composite pattern found: the forward nodes it covers (in graph order, the anchor last) and the one
/// node that stands for them during differentiation, or why nothing was found. A failed match is a result,
/// not an exception; the forward graph is never changed either way.
/// </summary>
internal sealed class CompositeMatch
{
    CompositeMatch(NodeProto? composite, IReadOnlyList<NodeProto> covered, string? reason)
    {
        Composite = composite;
        Covered = covered;
        Reason = reason;
    }

    /// <summary>The node differentiated in place of <see cref="Covered"/> (domain <see cref="CompositePatterns.Domain"/>).</summary>
    public NodeProto? Composite { get; }

    /// <summary>The forward nodes the composite stands for.</summary>
    public IReadOnlyList<NodeProto> Covered { get; }

    /// <summary>Why the pattern does not apply, or null on success.</summary>
    public string? Reason { get; }

    /// <summary>True when the pattern applies.</summary>
    public bool Succeeded => Composite != null;

    public static CompositeMatch Found(NodeProto composite, IReadOnlyList<NodeProto> covered) => new(composite, covered, null);

    public static CompositeMatch NotFound(string reason) => new(null, [], reason);
}
