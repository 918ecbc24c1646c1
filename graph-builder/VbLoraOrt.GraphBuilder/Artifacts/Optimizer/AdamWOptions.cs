using System.Globalization;

namespace VbLoraOrt.GraphBuilder.Artifacts.Optimizer;

/// <summary>
/// The AdamW constants baked into <c>optimizer_model.onnx</c>. Learning rate and weight decay are not here:
/// they are graph inputs per parameter group, so a schedule can change them every step.
/// </summary>
public sealed class AdamWOptions
{
    /// <summary>Decay of the first moment. Default 0.9 (PyTorch).</summary>
    public float Beta1 { get; init; } = 0.9f;

    /// <summary>Decay of the second moment. Default 0.999 (PyTorch).</summary>
    public float Beta2 { get; init; } = 0.999f;

    /// <summary>Added to √v̂ before dividing. Default 1e-8 (PyTorch).</summary>
    public float Epsilon { get; init; } = 1e-8f;

    /// <summary>Default-domain opset of the emitted graph. Default 17.</summary>
    public long Opset { get; init; } = 17;

    /// <summary>Throws naming the first invalid value.</summary>
    public void Validate()
    {
        if (!(Beta1 >= 0 && Beta1 < 1))
            throw new ArgumentOutOfRangeException(nameof(Beta1), Beta1, $"AdamW beta1 {Format(Beta1)} must be in [0, 1).");
        if (!(Beta2 >= 0 && Beta2 < 1))
            throw new ArgumentOutOfRangeException(nameof(Beta2), Beta2, $"AdamW beta2 {Format(Beta2)} must be in [0, 1).");
        if (!(Epsilon > 0 && float.IsFinite(Epsilon)))
            throw new ArgumentOutOfRangeException(nameof(Epsilon), Epsilon, $"AdamW epsilon {Format(Epsilon)} must be a positive finite number.");
        if (Opset < 13)
            throw new ArgumentOutOfRangeException(nameof(Opset), Opset, $"optimizer opset {Opset} is below 13, the lowest this builder emits.");
    }

    static string Format(float value) => value.ToString("R", CultureInfo.InvariantCulture);
}
