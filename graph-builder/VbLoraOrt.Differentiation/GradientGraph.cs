using Onnx;

namespace VbLoraOrt.Differentiation;

/// <summary>
/// What <see cref="ReverseDifferentiator.Differentiate"/> added to a graph: the gradient value of each
/// requested tensor, the backward nodes, and which forward values were differentiated at all.
/// </summary>
public sealed class GradientGraph
{
    internal GradientGraph(IReadOnlyDictionary<string, string> gradients, IReadOnlyList<NodeProto> nodes,
        IReadOnlySet<string> differentiatedValues)
    {
        Gradients = gradients;
        Nodes = nodes;
        DifferentiatedValues = differentiatedValues;
    }

    /// <summary>For each requested tensor, the name of the value holding d loss / d tensor (same shape and type).</summary>
    public IReadOnlyDictionary<string, string> Gradients { get; }

    /// <summary>The backward nodes, in the order they were appended to the graph.</summary>
    public IReadOnlyList<NodeProto> Nodes { get; }

    /// <summary>
    /// The forward values whose gradient the backward graph computes: exactly those on a path from a requested
    /// tensor to the loss. Frozen weights and everything below the lowest trainable tensor are absent.
    /// </summary>
    public IReadOnlySet<string> DifferentiatedValues { get; }
}
