using Onnx;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters;

/// <summary>Checks of targets against a method (<see cref="IAdapterMethod.Plan"/>) and against a graph (inject, merge).</summary>
internal static class TargetChecks
{
    /// <summary>At least one target, no null, each module path and node at most once.</summary>
    public static void RequireDistinct(string method, IReadOnlyList<LinearModule> targets)
    {
        ArgumentNullException.ThrowIfNull(targets);
        if (targets.Count == 0)
            throw new AdapterException($"{method}: no target modules were given; select at least one linear layer to adapt.");
        if (targets.Any(t => t is null))
            throw new ArgumentException("the target list contains null", nameof(targets));
        foreach (var group in targets.GroupBy(t => t.Path, StringComparer.Ordinal).Where(g => g.Count() > 1))
            throw new AdapterException($"{method}: module '{group.Key}' is targeted {group.Count()} times; list each module once.");
        foreach (var group in targets.GroupBy(t => t.NodeName, StringComparer.Ordinal).Where(g => g.Count() > 1))
            throw new AdapterException($"{method}: node '{group.Key}' is targeted twice (as {string.Join(" and ", group.Select(t => t.Path))}).");
    }

    /// <summary>
    /// Checks <paramref name="module"/> against <paramref name="graph"/> and returns its node and the node that reads
    /// the weight initializer: the MatMul/Gemm itself (second input) or the <c>Transpose</c> feeding it (first input).
    /// </summary>
    /// <exception cref="AdapterException">The module does not match the graph (the message names it).</exception>
    public static (NodeProto Node, NodeProto WeightReader, int WeightInput) Locate(GraphProto graph, LinearModule module)
    {
        NodeProto node = graph.Node.FirstOrDefault(n => n.Name == module.NodeName)
            ?? throw new AdapterException($"{module.Path}: node '{module.NodeName}' is not in the model; use the model the targets were found in.");
        if (node.OpType != module.OpType || node.Input.Count < 2 || node.Input[0] != module.InputName)
            throw new AdapterException(
                $"{module.Path}: node '{module.NodeName}' is a {node.OpType} reading ({string.Join(", ", node.Input)}), not a {module.OpType} of '{module.InputName}'; use the model the targets were found in.");
        var (reader, slot) = node.Input[1] == module.WeightName
            ? (node, 1)
            : graph.Node.FirstOrDefault(n => n.OpType == "Transpose" && n.Output.Contains(node.Input[1]) && n.Input[0] == module.WeightName) is { } transpose
                ? (transpose, 0)
                : throw new AdapterException(
                    $"{module.Path}: node '{module.NodeName}' ({node.OpType}) does not read weight '{module.WeightName}' (directly or through a Transpose); use the model the targets were found in.");
        TensorProto weight = graph.Initializer.FirstOrDefault(t => t.Name == module.WeightName)
            ?? throw new AdapterException($"{module.Path}: weight '{module.WeightName}' is not an initializer of the model.");
        if (weight.DataType != (int)TensorProto.Types.DataType.Float)
            throw new AdapterException($"{module.Path}: weight '{module.WeightName}' is {ElementType.Name(weight.DataType)}; only FLOAT weights can be adapted so far.");
        long[] expected = module.Layout == WeightLayout.InOut ? [module.InFeatures, module.OutFeatures] : [module.OutFeatures, module.InFeatures];
        if (!weight.Dims.SequenceEqual(expected))
            throw new AdapterException(
                $"{module.Path}: weight '{module.WeightName}' has shape [{string.Join(",", weight.Dims)}], expected [{string.Join(",", expected)}] ({module.Layout}, in {module.InFeatures}, out {module.OutFeatures}).");
        return (node, reader, slot);
    }
}
