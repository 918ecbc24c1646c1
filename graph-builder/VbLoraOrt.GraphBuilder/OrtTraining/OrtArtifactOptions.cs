namespace VbLoraOrt.GraphBuilder.OrtTraining;

/// <summary>
/// What ONNX Runtime's artifact set fixes that the project's leaves to the runner: its optimizer has one learning
/// rate for all parameters and its weight decay is an attribute of the optimizer graph.
/// </summary>
public sealed record OrtArtifactOptions
{
    /// <summary>
    /// The rate stored in the checkpoint's group0 (ONNX Runtime's initial rate for its schedulers; set the current one
    /// with <c>TrainingSession.SetLearningRate</c>). Default 1e-3, ONNX Runtime's default.
    /// </summary>
    public float LearningRate { get; init; } = 1e-3f;

    /// <summary>Decoupled weight decay baked into the AdamWOptimizer node. Default 0, the runner's default.</summary>
    public float WeightDecay { get; init; }
}
