namespace VbLoraOrt.Onnx;

/// <summary>
/// Emits ops whose signature changed across opsets (axes as attribute before, as input from, opset 13 for
/// ReduceSum/Squeeze/Unsqueeze and opset 18 for the other reductions) in the form the model's opset expects.
/// </summary>
public static class OpsetAwareOps
{
    /// <summary><c>ReduceSum(x, axes, keepdims)</c>.</summary>
    public static string ReduceSum(this GraphEmitter e, long opset, string x, long[] axes, bool keepDims) =>
        Reduce(e, "ReduceSum", axesAsInputSince: 13, opset, x, axes, keepDims);

    /// <summary><c>ReduceMean(x, axes, keepdims)</c>.</summary>
    public static string ReduceMean(this GraphEmitter e, long opset, string x, long[] axes, bool keepDims) =>
        Reduce(e, "ReduceMean", axesAsInputSince: 18, opset, x, axes, keepDims);

    /// <summary><c>Unsqueeze(x, axes)</c>.</summary>
    public static string Unsqueeze(this GraphEmitter e, long opset, string x, params long[] axes) =>
        opset >= 13 ? e.Op("Unsqueeze", [x, e.Int64s("axes", axes)]) : e.Op("Unsqueeze", [x], Attr.Ints("axes", axes));

    /// <summary><c>Squeeze(x, axes)</c>.</summary>
    public static string Squeeze(this GraphEmitter e, long opset, string x, params long[] axes) =>
        opset >= 13 ? e.Op("Squeeze", [x, e.Int64s("axes", axes)]) : e.Op("Squeeze", [x], Attr.Ints("axes", axes));

    static string Reduce(GraphEmitter e, string op, int axesAsInputSince, long opset, string x, long[] axes, bool keepDims)
    {
        ArgumentNullException.ThrowIfNull(e);
        var keep = Attr.Int("keepdims", keepDims ? 1 : 0);
        return opset >= axesAsInputSince
            ? e.Op(op, [x, e.Int64s("axes", axes)], keep)
            : e.Op(op, [x], Attr.Ints("axes", axes), keep);
    }
}
