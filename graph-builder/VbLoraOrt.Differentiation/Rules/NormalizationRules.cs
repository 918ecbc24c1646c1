using VbLoraOrt.Differentiation.Core;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Differentiation.Rules;

/// <summary>
/// Softmax, LogSoftmax and LayerNormalization in standard ops, since ORT's SoftmaxGrad and
/// LayerNormalizationGrad are training-only contrib kernels. Before opset 13 Softmax and LogSoftmax normalize
/// over all axes from <c>axis</c> on (the input is coerced to 2-D); from 13 over the one axis.
/// </summary>
internal static class NormalizationRules
{
    public static string?[] Softmax(GradientContext c) => SingleAxisSoftmax(c, c.Int("axis", -1));

    // dx = y·(g − Σ g·y), the row sums taken from the product y feeds when it can (SoftmaxRowSums).
    static string?[] SingleAxisSoftmax(GradientContext c, long axis) =>
        OneInput(c, SoftmaxRowSums.FromProduct(c, axis) is { } rowSums
            ? c.B.Mul(c.Output(0), c.B.Sub(c.Grad, rowSums))
            : Backward(c.B, log: false, c.Output(0), c.Grad, axis));

    public static string?[] LogSoftmax(GradientContext c) => OneInput(c, Backward(c.B, log: true, c.Output(0), c.Grad, c.Int("axis", -1)));

    public static string?[] SoftmaxFlattened(GradientContext c) => Flattened(c, log: false);

    public static string?[] LogSoftmaxFlattened(GradientContext c) => Flattened(c, log: true);

    // softmax:      dx = y·(g − Σ g·y)
    // log softmax:  dx = g − eʸ·Σ g
    static string Backward(BackwardBuilder b, bool log, string y, string g, long axis) => log
        ? b.Sub(g, b.Mul(b.Op("Exp", [y]), b.ReduceSum(g, [axis], keepDims: true)))
        : b.Mul(y, b.Sub(g, b.ReduceSum(b.Mul(g, y), [axis], keepDims: true)));

    // Opset < 13 normalizes over the trailing axes [axis, rank) together. When axis is the last one that is
    // the single-axis form; otherwise work on the 2-D coercion [outer, inner] and reshape back.
    static string?[] Flattened(GradientContext c, bool log)
    {
        long axis = c.Int("axis", 1);
        int? rank = c.Facts(c.Input(0)).Rank;
        if (axis == -1 || rank is int r && BackwardBuilder.Normalize(axis, r) == r - 1)
            return log ? OneInput(c, Backward(c.B, log, c.Output(0), c.Grad, -1)) : SingleAxisSoftmax(c, -1);
        var b = c.B;
        string y2 = b.Op("Flatten", [c.Output(0)], Attr.Int("axis", axis));
        string g2 = b.Op("Flatten", [c.Grad], Attr.Int("axis", axis));
        return OneInput(c, b.ReshapeLike(Backward(b, log, y2, g2, 1), c.Input(0)));
    }

    static string?[] OneInput(GradientContext c, string grad)
    {
        var grads = c.NoGradients();
        grads[0] = grad;
        return grads;
    }

    /// <summary>
    /// y = x̂·scale + bias with x̂ = d·r, d = x − μ, r = 1/√(σ² + ε) over axes [axis, rank); with ĝ = g·scale:
    /// dx = r·(ĝ − mean ĝ − x̂·mean(ĝ·x̂)) = r·(ĝ − mean ĝ) − r³·mean(ĝ·d)·d (one full-size pass fewer than with x̂);
    /// dscale = Σ g·x̂; dbias = Σ g. μ and r are the node's <c>Mean</c> and <c>InvStdDev</c> outputs when it has them
    /// (<see cref="Rewrites.StandardOpRewriter"/> adds them), otherwise recomputed from x.
    /// </summary>
    public static string?[] LayerNormalization(GradientContext c)
    {
        var b = c.B;
        string x = c.Input(0), g = c.Grad;
        long axis = c.Int("axis", -1);
        int? rank = c.Facts(x).Rank;
        long[]? axes = axis < 0 ? Range(axis, -1)
            : rank is int r ? Range(axis - r, -1)
            : null;
        if (axes == null)
            throw c.Fail($"the rank of '{x}' is unknown and axis {axis} is not negative; declare its shape in value_info");
        var (centered, inverseStd) = Statistics(c, x, axes);

        var grads = c.NoGradients();
        var y = c.ShapeOf(c.Output(0));
        if (c.Wants(0))
        {
            string gHat = b.Mul(g, c.Input(1));
            string meanG = b.ReduceMean(gHat, axes, keepDims: true);
            string meanGd = b.ReduceMean(b.Mul(gHat, centered), axes, keepDims: true);
            string cubed = b.Mul(b.Mul(inverseStd, inverseStd), b.Mul(inverseStd, meanGd)); // r³·mean(ĝ·d), one per row
            grads[0] = b.Sub(b.Mul(b.Sub(gHat, meanG), inverseStd), b.Mul(centered, cubed));
        }
        if (c.Wants(1))
            grads[1] = b.SumToShape(b.Mul(g, b.Mul(centered, inverseStd)), y, c.Input(1));
        if (c.Wants(2))
            grads[2] = b.SumToShape(g, y, c.Input(2));
        return grads;
    }

    // d = x − μ and r = 1/√(σ² + ε): from the node's Mean and InvStdDev outputs, or recomputed (also when those
    // are stored in another type than x: they are float32 by default, stash_type 1, also for double x).
    static (string Centered, string InverseStd) Statistics(GradientContext c, string x, long[] axes)
    {
        var b = c.B;
        if (c.Node.Output.Count >= 3 && c.Output(1).Length > 0 && c.Output(2).Length > 0
            && c.Facts(c.Output(1)).ElemType == c.ElemType(x) && c.Facts(c.Output(2)).ElemType == c.ElemType(x))
            return (b.Sub(x, c.Output(1)), c.Output(2));
        float epsilon = Attr.GetFloat(c.Node, "epsilon", 1e-5f);
        string centered = b.Sub(x, b.ReduceMean(x, axes, keepDims: true));
        string variance = b.ReduceMean(b.Mul(centered, centered), axes, keepDims: true);
        return (centered, b.Op("Reciprocal", [b.Op("Sqrt", [b.Add(variance, c.Scalar(epsilon))])]));
    }

    static long[] Range(long from, long to) =>
        Enumerable.Range(0, (int)(to - from + 1)).Select(i => from + i).ToArray();
}
