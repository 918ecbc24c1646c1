using VbLoraOrt.Differentiation.Core;

namespace VbLoraOrt.Differentiation.Rules;

/// <summary>
/// Elementwise unary math: Neg, Sqrt, Exp, Log, Tanh, Sigmoid, Erf, Relu, Identity. Where the derivative is a
/// function of the output (sqrt, exp, tanh, sigmoid) the output is reused instead of recomputed.
/// </summary>
internal static class UnaryRules
{
    public static string?[] Identity(GradientContext c) => One(c, c.Grad);

    public static string?[] Neg(GradientContext c) => One(c, c.B.Neg(c.Grad));

    // y = √x: dx = g / (2y)
    public static string?[] Sqrt(GradientContext c) =>
        One(c, c.B.Div(c.Grad, c.B.Mul(c.Output(0), c.Scalar(2))));

    // y = eˣ: dx = g·y
    public static string?[] Exp(GradientContext c) => One(c, c.B.Mul(c.Grad, c.Output(0)));

    // y = ln x: dx = g / x
    public static string?[] Log(GradientContext c) => One(c, c.B.Div(c.Grad, c.Input(0)));

    // y = tanh x: dx = g·(1 − y²)
    public static string?[] Tanh(GradientContext c)
    {
        string y = c.Output(0);
        return One(c, c.B.Mul(c.Grad, c.B.Sub(c.Scalar(1), c.B.Mul(y, y))));
    }

    // y = σ(x): dx = g·y·(1 − y)
    public static string?[] Sigmoid(GradientContext c)
    {
        string y = c.Output(0);
        return One(c, c.B.Mul(c.Grad, c.B.Mul(y, c.B.Sub(c.Scalar(1), y))));
    }

    // y = erf x: dx = g·(2/√π)·exp(−x²)
    public static string?[] Erf(GradientContext c)
    {
        string x = c.Input(0);
        string bell = c.B.Op("Exp", [c.B.Neg(c.B.Mul(x, x))]);
        return One(c, c.B.Mul(c.Grad, c.B.Mul(bell, c.Scalar(2 / Math.Sqrt(Math.PI)))));
    }

    // y = max(x, 0): dx = g where x > 0
    public static string?[] Relu(GradientContext c)
    {
        string positive = c.B.Op("Greater", [c.Input(0), c.Scalar(0)]);
        return One(c, c.B.Where(positive, c.Grad, c.Scalar(0)));
    }

    static string?[] One(GradientContext c, string grad)
    {
        var grads = c.NoGradients();
        grads[0] = grad;
        return grads;
    }
}
