namespace VbLoraOrt.GraphBuilder.OrtTraining;

/// <summary>
/// The names ONNX Runtime's training runtime looks for in its training artifacts (DESIGN.md §3.7): it sorts the
/// training model's inputs into user inputs, parameters (names found in the checkpoint), gradient buffers (suffix
/// <c>_grad.accumulation.buffer</c>) and the reset flag, and feeds the optimizer model by fixed input names.
/// </summary>
public static class OrtTrainingNames
{
    /// <summary>The subfolder of an artifact folder holding ONNX Runtime's set.</summary>
    public const string Folder = "ort";

    /// <summary>ONNX Runtime's file names inside <see cref="Folder"/>.</summary>
    public const string TrainingModel = "training_model.onnx", EvalModel = "eval_model.onnx",
        OptimizerModel = "optimizer_model.onnx", CheckpointFile = "checkpoint";

    /// <summary>The bool input that makes the next accumulation overwrite the buffers instead of adding to them.</summary>
    public const string LazyResetGrad = "lazy_reset_grad";

    /// <summary>The domain of ONNX Runtime's training operators.</summary>
    public const string MicrosoftDomain = "com.microsoft";

    /// <summary>The gradient of <paramref name="parameter"/> as the backward graph computes it.</summary>
    public static string Grad(string parameter) => $"{parameter}_grad";

    /// <summary>The training model's input holding the accumulated gradient of <paramref name="parameter"/>.</summary>
    public static string AccumulationBuffer(string parameter) => $"{parameter}_grad.accumulation.buffer";

    /// <summary>The bool output of the accumulator of <paramref name="parameter"/>.</summary>
    public static string AccumulationOut(string parameter) => $"{parameter}_grad.accumulation.out";

    /// <summary>The optimizer model's inputs, in the order ONNX Runtime feeds them.</summary>
    public static readonly IReadOnlyList<string> AdamWInputs =
        ["learning_rate", "step", "params", "gradients", "first_order_moments", "second_order_moments"];

    /// <summary>The optimizer model's output: whether the parameters were updated.</summary>
    public const string UpdatedFlag = "updated_flag";

    /// <summary>Property-bag keys the prepared checkpoint carries, so an ONNX Runtime checkpoint can be matched to its artifacts.</summary>
    public const string ArtifactsIdProperty = "vblora.artifacts_id", MethodProperty = "vblora.method";

    /// <summary>The four files, relative to the artifact folder (as the manifest records them).</summary>
    public static IReadOnlyList<string> Files { get; } =
        [.. new[] { TrainingModel, EvalModel, OptimizerModel, CheckpointFile }.Select(f => $"{Folder}/{f}")];
}
