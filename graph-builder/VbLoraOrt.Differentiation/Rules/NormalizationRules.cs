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
    public static string?[] Softmax(GradientContext c) => OneInput(c, Backward(c.B, log: false, c.Output(0), c.Grad, c.Int("axis", -1)));

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
            return OneInput(c, Backward(c.B, log, c.Output(0), c.Grad, -1));
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
    /// y = x̂·scale + bias with x̂ = (x − μ)·r, r = 1/√(σ² + ε) over axes [axis, rank):
    /// dx = r·(ĝ − mean ĝ − x̂·mean(ĝ·x̂)) with ĝ = g·scale; dscale = Σ g·x̂; dbias = Σ g.
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
        float epsilon = Attr.GetFloat(c.Node, "epsilon", 1e-5f);

        string mean = b.ReduceMean(x, axes, keepDims: true);
        string centered = b.Sub(x, mean);
        string variance = b.ReduceMean(b.Mul(centered, centered), axes, keepDims: true);
        string inverseStd = b.Op("Reciprocal", [b.Op("Sqrt", [b.Add(variance, c.Scalar(epsilon))])]);
        string normalized = b.Mul(centered, inverseStd);

        var grads = c.NoGradients();
        var y = c.ShapeOf(c.Output(0));
        if (c.Wants(0))
        {
            string gHat = b.Mul(g, c.Input(1));
            string meanG = b.ReduceMean(gHat, axes, keepDims: true);
            string meanGx = b.ReduceMean(b.Mul(gHat, normalized), axes, keepDims: true);
            grads[0] = b.Mul(inverseStd, b.Sub(b.Sub(gHat, meanG), b.Mul(normalized, meanGx)));
        }
        if (c.Wants(1))
            grads[1] = b.SumToShape(b.Mul(g, normalized), y, c.Input(1));
        if (c.Wants(2))
            grads[2] = b.SumToShape(g, y, c.Input(2));
        return grads;
    }

    static long[] Range(long from, long to) =>
        Enumerable.Range(0, (int)(to - from + 1)).Select(i => from + i).ToArray();
}
