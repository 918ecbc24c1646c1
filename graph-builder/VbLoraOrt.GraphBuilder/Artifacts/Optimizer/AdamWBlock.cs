using VbLoraOrt.Onnx;

namespace VbLoraOrt.GraphBuilder.Artifacts.Optimizer;

/// <summary>
/// Emits one AdamW update (PyTorch <c>torch.optim.AdamW</c> semantics, decoupled weight decay):
/// <code>
/// p ← p·(1 − lr·wd)
/// m ← β1·m + (1 − β1)·g
/// v ← β2·v + (1 − β2)·g²
/// p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
/// </code>
/// which is <c>p − lr·m̂/(√v̂ + ε)</c> written as PyTorch evaluates it.
/// </summary>
sealed class AdamWBlock
{
    readonly GraphEmitter _emit;
    readonly string _beta1, _oneMinusBeta1, _beta2, _oneMinusBeta2, _epsilon, _one;
    readonly string _biasCorrection1, _sqrtBiasCorrection2;

    /// <summary>Emits the step-dependent scalars shared by every parameter.</summary>
    public AdamWBlock(GraphEmitter emit, AdamWOptions options, string step)
    {
        _emit = emit;
        _one = emit.Scalar(1, hint: "one");
        _beta1 = emit.Scalar(options.Beta1, hint: "beta1");
        _beta2 = emit.Scalar(options.Beta2, hint: "beta2");
        _oneMinusBeta1 = emit.Scalar(1 - options.Beta1, hint: "one_minus_beta1");
        _oneMinusBeta2 = emit.Scalar(1 - options.Beta2, hint: "one_minus_beta2");
        _epsilon = emit.Scalar(options.Epsilon, hint: "epsilon");
        _biasCorrection1 = emit.Op("Sub", [_one, emit.Op("Pow", [_beta1, step])]);                       // 1 − β1^t
        _sqrtBiasCorrection2 = emit.Op("Sqrt", [emit.Op("Sub", [_one, emit.Op("Pow", [_beta2, step])])]); // √(1 − β2^t)
    }

    /// <summary>The group's scalars: (step size lr/(1−β1^t), decay factor 1 − lr·wd).</summary>
    public (string StepSize, string DecayFactor) GroupScalars(string learningRate, string weightDecay) =>
        (_emit.Op("Div", [learningRate, _biasCorrection1]),
         _emit.Op("Sub", [_one, _emit.Op("Mul", [learningRate, weightDecay])]));

    /// <summary>Emits the update of one parameter; returns the names of the new p, m and v (unguarded).</summary>
    public (string Param, string FirstMoment, string SecondMoment) Update(
        string param, string grad, string firstMoment, string secondMoment, (string StepSize, string DecayFactor) group)
    {
        string m = _emit.Op("Add", [_emit.Op("Mul", [_beta1, firstMoment]), _emit.Op("Mul", [_oneMinusBeta1, grad])]);
        string gradSquared = _emit.Op("Mul", [grad, grad]);
        string v = _emit.Op("Add", [_emit.Op("Mul", [_beta2, secondMoment]), _emit.Op("Mul", [_oneMinusBeta2, gradSquared])]);
        string denominator = _emit.Op("Add", [_emit.Op("Div", [_emit.Op("Sqrt", [v]), _sqrtBiasCorrection2]), _epsilon]);
        string decayed = _emit.Op("Mul", [param, group.DecayFactor]);
        string p = _emit.Op("Sub", [decayed, _emit.Op("Mul", [group.StepSize, _emit.Op("Div", [m, denominator])])]);
        return (p, m, v);
    }
}
