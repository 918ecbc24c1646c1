namespace VbLoraOrt.Tests.OrtTraining;

/// <summary>
/// The names ONNX Runtime's training runtime looks for in training artifacts (its artifact generator and
/// <c>training_api</c> sources): it sorts the training model's inputs into user inputs, parameters (names found in
/// the checkpoint), gradient buffers (suffix <c>_grad.accumulation.buffer</c>) and the reset flag, and feeds the
/// optimizer model by fixed input names.
/// </summary>
static class OrtConventions
{
    public const string LazyResetGrad = "lazy_reset_grad";
    public const string MicrosoftDomain = "com.microsoft";

    public static string Grad(string parameter) => $"{parameter}_grad";
    public static string AccumulationBuffer(string parameter) => $"{parameter}_grad.accumulation.buffer";
    public static string AccumulationOut(string parameter) => $"{parameter}_grad.accumulation.out";

    /// <summary>The optimizer model's inputs, in the order ONNX Runtime requires them.</summary>
    public static readonly string[] AdamWInputs =
        ["learning_rate", "step", "params", "gradients", "first_order_moments", "second_order_moments"];

    public const string UpdatedFlag = "updated_flag";
}
