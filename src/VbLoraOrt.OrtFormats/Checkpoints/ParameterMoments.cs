namespace VbLoraOrt.OrtFormats.Checkpoints;

/// <summary>
/// The AdamW state of one trainable parameter: the first moment m (ONNX Runtime's <c>momentum0</c>) and the second
/// moment v (<c>momentum1</c>), each with the parameter's dims.
/// </summary>
/// <param name="ParameterName">The trainable parameter these moments belong to.</param>
/// <param name="FirstMoment">m, the running mean of the gradient.</param>
/// <param name="SecondMoment">v, the running mean of the squared gradient.</param>
public sealed record ParameterMoments(string ParameterName, float[] FirstMoment, float[] SecondMoment)
{
    /// <summary>ONNX Runtime's name of the first-moment tensor inside a parameter's optimizer state.</summary>
    public const string FirstMomentName = "momentum0";

    /// <summary>ONNX Runtime's name of the second-moment tensor inside a parameter's optimizer state.</summary>
    public const string SecondMomentName = "momentum1";
}
