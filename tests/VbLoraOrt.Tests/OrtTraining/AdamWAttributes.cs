using Onnx;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Tests.OrtTraining;

/// <summary>
/// The attributes of ONNX Runtime's com.microsoft AdamWOptimizer. Mode 0 with bias correction is PyTorch's AdamW
/// (decay p by lr·wd first, then p −= lr·m̂/(√v̂ + ε)), the update the project's own optimizer graph computes.
/// </summary>
sealed record AdamWAttributes(float Beta1 = 0.9f, float Beta2 = 0.999f, float Epsilon = 1e-8f, float WeightDecay = 0.01f,
    long AdamMode = 0, long CorrectBias = 1)
{
    public AttributeProto[] ToAttributes() =>
    [
        Attr.Float("alpha", Beta1), Attr.Float("beta", Beta2), Attr.Float("epsilon", Epsilon),
        Attr.Float("weight_decay", WeightDecay), Attr.Int("adam_mode", AdamMode), Attr.Int("correct_bias", CorrectBias),
    ];
}
