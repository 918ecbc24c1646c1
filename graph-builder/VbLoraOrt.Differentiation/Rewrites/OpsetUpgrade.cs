using Onnx;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Differentiation.Rewrites;

/// <summary>
/// Raises a model's default-domain opset from 13–16 to 17, the first with <c>LayerNormalization</c>, by changing the
/// import only. That is exact because every op version added in 14–17 keeps the earlier meaning at its default
/// attributes (new types, new optional inputs/attributes, new ops), except those listed in <see cref="Changed"/>; a
/// graph holding one of them, a subgraph, or an opset below 13 (Softmax, ReduceSum, Split… changed at 13) is left
/// alone. ReduceMean keeps its axes attribute until 18, which is why the target is 17 and not later.
/// </summary>
internal static class OpsetUpgrade
{
    public const long Target = 17;

    // RoiAlign's default coordinate mode changed at 16; BatchNormalization's outputs in training mode at 14/15;
    // control flow would need its bodies checked too.
    static readonly HashSet<string> Changed = new(StringComparer.Ordinal) { "RoiAlign", "BatchNormalization", "If", "Loop", "Scan" };

    /// <summary>Raises the opset to <see cref="Target"/>; returns why not, or null when the model is now at 17 or newer.</summary>
    public static string? To17(OnnxModel model)
    {
        long opset = model.Opset;
        if (opset >= Target)
            return null;
        if (opset < 13)
            return $"opset {opset} is below 13; ops changed at 13 would need rewriting";
        if (model.Graph.Node.FirstOrDefault(n => n.Domain is "" or "ai.onnx" && Changed.Contains(n.OpType)) is { } node)
            return $"{node.OpType} node '{node.Name}' changed meaning after opset {opset}";
        model.Proto.OpsetImport.Single(o => o.Domain is "" or "ai.onnx").Version = Target;
        model.Proto.IrVersion = Math.Max(model.Proto.IrVersion, 8); // IR 8 is the first to carry opset 17
        return null;
    }
}
