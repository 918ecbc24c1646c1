namespace VbLoraOrt.Tests.OrtTraining;

/// <summary>
/// The MLP trained in float64 with PyTorch's AdamW (decoupled weight decay, bias correction), written out here as
/// the independent reference:
/// <code>
/// p ← p·(1 − lr·wd);  m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²;  p ← p − lr·(m/(1 − β1^t)) / (√(v/(1 − β2^t)) + ε)
/// </code>
/// Gradients come from <see cref="MlpArtifacts.Reference"/>. With <c>accumulate</c>, each step's gradient is added to
/// the previous ones instead of replacing them (what ONNX Runtime does when lazyResetGrad is not called).
/// </summary>
sealed class ReferenceTraining
{
    readonly double _learningRate;
    readonly AdamWAttributes _adamW;
    readonly bool _accumulate;
    readonly Dictionary<string, double[]> _gradientSums = [];

    public ReferenceTraining(Dictionary<string, float[]> initial, double learningRate, AdamWAttributes adamW, bool accumulate = false)
    {
        Parameters = initial.ToDictionary(kv => kv.Key, kv => kv.Value.Select(v => (double)v).ToArray());
        foreach (var (name, _, _) in MlpArtifacts.Trainables)
        {
            FirstMoments[name] = new double[Parameters[name].Length];
            SecondMoments[name] = new double[Parameters[name].Length];
            _gradientSums[name] = new double[Parameters[name].Length];
        }
        (_learningRate, _adamW, _accumulate) = (learningRate, adamW, accumulate);
    }

    public Dictionary<string, double[]> Parameters { get; }
    public Dictionary<string, double[]> FirstMoments { get; } = [];
    public Dictionary<string, double[]> SecondMoments { get; } = [];
    public long Step { get; private set; }

    /// <summary>One train step and one AdamW step on <paramref name="batch"/>; returns the loss before the update.</summary>
    public double TrainStep((float[] X, float[] Y) batch)
    {
        var (loss, grads) = MlpArtifacts.Reference(Parameters, batch);
        Step++;
        double b1 = _adamW.Beta1, b2 = _adamW.Beta2, eps = _adamW.Epsilon, wd = _adamW.WeightDecay;
        double correction1 = 1 - Math.Pow(b1, Step), correction2 = 1 - Math.Pow(b2, Step);
        foreach (var (name, g) in grads)
        {
            var sum = _gradientSums[name];
            for (int i = 0; i < g.Length; i++) sum[i] = _accumulate ? sum[i] + g[i] : g[i];
            double[] p = Parameters[name], m = FirstMoments[name], v = SecondMoments[name];
            for (int i = 0; i < p.Length; i++)
            {
                p[i] *= 1 - _learningRate * wd;
                m[i] = b1 * m[i] + (1 - b1) * sum[i];
                v[i] = b2 * v[i] + (1 - b2) * sum[i] * sum[i];
                p[i] -= _learningRate * (m[i] / correction1) / (Math.Sqrt(v[i] / correction2) + eps);
            }
        }
        return loss;
    }

    /// <summary>All parameters concatenated in the training model's input order (ONNX Runtime's contiguous buffer).</summary>
    public double[] Contiguous() => MlpArtifacts.Parameters.SelectMany(p => Parameters[p.Name]).ToArray();

    public Dictionary<string, float[]> ParametersAsFloat() =>
        Parameters.ToDictionary(kv => kv.Key, kv => kv.Value.Select(v => (float)v).ToArray());
}
