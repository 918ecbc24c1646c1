using VbLoraOrt.Differentiation.Core;

namespace VbLoraOrt.Differentiation.Rules;

/// <summary>
/// Broadcasting binary and variadic ops: Add, Sub, Mul, Div, Pow, Sum, Max, Min, Where. Every gradient is
/// summed back to its input's shape (bias add, attention-mask add <c>[b,1,1,s]</c>), statically where shapes
/// tell, with run-time <c>Shape</c> arithmetic where they do not.
/// </summary>
internal static class ElementwiseRules
{
    // Add, Sum: every input gets g, summed back to its shape.
    public static string?[] AddSum(GradientContext c)
    {
        var grads = c.NoGradients();
        for (int i = 0; i < c.Node.Input.Count; i++)
            if (c.Wants(i))
                grads[i] = ToInput(c, c.Grad, i);
        return grads;
    }

    public static string?[] Sub(GradientContext c)
    {
        var grads = c.NoGradients();
        if (c.Wants(0))
            grads[0] = ToInput(c, c.Grad, 0);
        if (c.Wants(1))
            grads[1] = c.B.Neg(ToInput(c, c.Grad, 1));
        return grads;
    }

    // d(a·b) = g·b, g·a
    public static string?[] Mul(GradientContext c)
    {
        var grads = c.NoGradients();
        if (c.Wants(0))
            grads[0] = ToInput(c, c.B.Mul(c.Grad, c.Input(1)), 0);
        if (c.Wants(1))
            grads[1] = ToInput(c, c.B.Mul(c.Grad, c.Input(0)), 1);
        return grads;
    }

    // y = a / b: da = g / b, db = −g·y / b
    public static string?[] Div(GradientContext c)
    {
        var grads = c.NoGradients();
        string gOverB = c.B.Div(c.Grad, c.Input(1));
        if (c.Wants(0))
            grads[0] = ToInput(c, gOverB, 0);
        if (c.Wants(1))
            grads[1] = c.B.Neg(ToInput(c, c.B.Mul(gOverB, c.Output(0)), 1));
        return grads;
    }

    // y = x^e: dx = g·e·x^(e−1) (constant e folded: e = 2 → g·2x), de = g·y·ln x
    public static string?[] Pow(GradientContext c)
    {
        var grads = c.NoGradients();
        var b = c.B;
        string x = c.Input(0), e = c.Input(1);
        int type = c.ElemType(x);
        if (c.Wants(0))
        {
            string local = b.Constants.Contains(e) && b.Constants.Floats(e) is [double p] ? ConstantPowerDerivative(c, x, p, type)
                : b.Constants.Contains(e) && b.Constants.Integers(e) is [long q] ? ConstantPowerDerivative(c, x, q, type)
                : VariablePowerDerivative(c, x, e, type);
            grads[0] = ToInput(c, local == "" ? c.Grad : b.Mul(c.Grad, local), 0);
        }
        if (c.Wants(1))
            grads[1] = ToInput(c, b.Mul(b.Mul(c.Grad, c.Output(0)), b.Op("Log", [x])), 1);
        return grads;
    }

    // e·x^(e−1) as few ops as the exponent allows; "" means 1.
    static string ConstantPowerDerivative(GradientContext c, string x, double p, int type) => p switch
    {
        0 => c.B.Scalar(0, type),
        1 => "",
        2 => c.B.Mul(x, c.B.Scalar(2, type)),
        _ => c.B.Mul(c.B.Op("Pow", [x, c.B.Scalar(p - 1, type)]), c.B.Scalar(p, type)),
    };

    static string VariablePowerDerivative(GradientContext c, string x, string e, int type)
    {
        var b = c.B;
        int eType = c.ElemType(e);
        string eAsX = eType == type ? e : b.Cast(e, type);
        return b.Mul(b.Op("Pow", [x, b.Sub(eAsX, b.Scalar(1, type))]), eAsX);
    }

    // The gradient goes to the input(s) equal to the output.
    public static string?[] MaxMin(GradientContext c)
    {
        var grads = c.NoGradients();
        string zero = c.Scalar(0);
        for (int i = 0; i < c.Node.Input.Count; i++)
            if (c.Wants(i))
            {
                string selected = c.B.Where(c.B.Op("Equal", [c.Input(i), c.Output(0)]), c.Grad, zero);
                grads[i] = ToInput(c, selected, i);
            }
        return grads;
    }

    // y = where(cond, a, b): da = where(cond, g, 0), db = where(cond, 0, g)
    public static string?[] Where(GradientContext c)
    {
        var grads = c.NoGradients();
        string zero = c.Scalar(0);
        if (c.Wants(1))
            grads[1] = ToInput(c, c.B.Where(c.Input(0), c.Grad, zero), 1);
        if (c.Wants(2))
            grads[2] = ToInput(c, c.B.Where(c.Input(0), zero, c.Grad), 2);
        return grads;
    }

    /// <summary>A gradient shaped like the output, summed back to input <paramref name="i"/>'s shape.</summary>
    static string ToInput(GradientContext c, string grad, int i) =>
        c.B.SumToShape(grad, c.ShapeOf(c.Output(0)), c.Input(i));
}
