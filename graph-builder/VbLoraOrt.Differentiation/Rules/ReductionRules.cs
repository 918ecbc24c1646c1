using VbLoraOrt.Differentiation.Core;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Differentiation.Rules;

/// <summary>
/// ReduceSum and ReduceMean. Their axes are an attribute until opset 13 (ReduceSum) / 18 (ReduceMean) and an
/// input after, so each has two rows in the table. The gradient puts the reduced axes back (when keepdims=0)
/// and broadcasts to the input's shape; the mean's 1/N is applied before broadcasting.
/// </summary>
internal static class ReductionRules
{
    public static string?[] ReduceSumAxesAttribute(GradientContext c) => Reduce(c, FromAttribute(c), mean: false);

    public static string?[] ReduceSumAxesInput(GradientContext c) => Reduce(c, FromInput(c), mean: false);

    public static string?[] ReduceMeanAxesAttribute(GradientContext c) => Reduce(c, FromAttribute(c), mean: true);

    public static string?[] ReduceMeanAxesInput(GradientContext c) => Reduce(c, FromInput(c), mean: true);

    /// <summary>Reduction axes: constant, computed at run time, or not given (both null).</summary>
    readonly record struct Axes(long[]? Constant, string? RunTime)
    {
        public bool Given => Constant != null || RunTime != null;
    }

    static Axes FromAttribute(GradientContext c) => new(VbLoraOrt.Onnx.Attr.GetInts(c.Node, "axes"), null);

    static Axes FromInput(GradientContext c) =>
        !c.HasInput(1) ? new Axes(null, null)
        : c.ConstantInts(1) is { } constant ? new Axes(constant, null)
        : new Axes(null, c.Input(1));

    static string?[] Reduce(GradientContext c, Axes axes, bool mean)
    {
        var b = c.B;
        string x = c.Input(0), g = c.Grad;
        var grads = c.NoGradients();
        bool emptyAxes = !axes.Given || axes.Constant is { Length: 0 };
        if (emptyAxes && c.Int("noop_with_empty_axes", 0) != 0)
        {
            grads[0] = g; // the op is the identity
            return grads;
        }
        if (c.Int("keepdims", 1) == 0 && !emptyAxes)
            g = axes.Constant != null ? b.Unsqueeze(g, axes.Constant) : b.Op("Unsqueeze", [g, axes.RunTime!]);
        if (mean)
            g = StaticCount(c, axes) is long n ? b.Mul(g, c.Scalar(1.0 / n))
                : b.Div(g, b.Cast(b.Div(b.SizeOf(x), b.SizeOf(c.Output(0))), c.GradType));
        grads[0] = b.Expand(g, b.ShapeOf(x));
        return grads;
    }

    // Number of elements averaged, when the reduced dims are known numbers.
    static long? StaticCount(GradientContext c, Axes axes)
    {
        var shape = c.ShapeOf(c.Input(0));
        if (shape == null || axes.RunTime != null)
            return null;
        var reduced = axes.Constant is { Length: > 0 } list
            ? list.Select(a => shape[(int)BackwardBuilder.Normalize(a, shape.Count)])
            : shape;
        long n = 1;
        foreach (var d in reduced)
        {
            if (d.Value is not long v)
                return null;
            n *= v;
        }
        return n;
    }
}
