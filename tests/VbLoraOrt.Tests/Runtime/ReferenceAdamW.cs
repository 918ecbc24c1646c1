namespace VbLoraOrt.Tests.Runtime;

/// <summary>Textbook AdamW (Loshchilov &amp; Hutter, PyTorch's decoupled decay) in float64, written independently of the graph.</summary>
sealed class ReferenceAdamW(float[] initial, double beta1, double beta2, double epsilon)
{
    public double[] P { get; } = initial.Select(x => (double)x).ToArray();
    public double[] M { get; } = new double[initial.Length];
    public double[] V { get; } = new double[initial.Length];
    public int T { get; private set; }

    public void Step(float[] grad, double lr, double weightDecay)
    {
        T++;
        for (int i = 0; i < P.Length; i++)
        {
            P[i] -= lr * weightDecay * P[i];
            M[i] = beta1 * M[i] + (1 - beta1) * grad[i];
            V[i] = beta2 * V[i] + (1 - beta2) * grad[i] * grad[i];
            double mHat = M[i] / (1 - Math.Pow(beta1, T));
            double vHat = V[i] / (1 - Math.Pow(beta2, T));
            P[i] -= lr * mHat / (Math.Sqrt(vHat) + epsilon);
        }
    }
}
