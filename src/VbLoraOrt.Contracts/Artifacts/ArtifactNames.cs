namespace VbLoraOrt.Contracts.Artifacts;

/// <summary>
/// The name contract between the graph-builder's artifacts and the runner, kept in one place:
/// file names, graph input/output names, and the names derived from a trainable tensor's name.
/// </summary>
public static class ArtifactNames
{
    /// <summary>Training graph (forward + loss + backward).</summary>
    public const string TrainingModel = "training_model.onnx";

    /// <summary>
    /// Head-only training graph: forward + loss + gradients of the head's tensors only (no backward through the
    /// encoder), for <c>train --head-only</c>. Listed by <see cref="ArtifactManifest.HeadOnlyTrainingModel"/>.
    /// </summary>
    public const string HeadOnlyTrainingModel = "head_only_training_model.onnx";

    /// <summary>Evaluation graph (forward + optional loss + task output).</summary>
    public const string EvalModel = "eval_model.onnx";

    /// <summary>AdamW step graph.</summary>
    public const string OptimizerModel = "optimizer_model.onnx";

    /// <summary>The external-data file the three models share.</summary>
    public const string WeightsFile = "weights.bin";

    /// <summary>The base model as stored in the folder; training, eval and merge exports start from it.</summary>
    public const string BaseModel = "base_model.onnx";

    /// <summary>Describes the artifacts (method, targets, tensors, inputs, task…).</summary>
    public const string Manifest = "manifest.json";

    /// <summary>Initial trainable tensors and optimizer state.</summary>
    public const string InitialCheckpoint = "initial.ckpt";

    /// <summary>Scalar loss output of the training and eval graphs.</summary>
    public const string Loss = "loss";

    /// <summary>Classification / regression output of the eval graph.</summary>
    public const string Logits = "logits";

    /// <summary>Sentence-embedding output of the eval graph.</summary>
    public const string Embeddings = "embeddings";

    /// <summary>Labels input of classify tasks.</summary>
    public const string Labels = "labels";

    /// <summary>Classify head weight <c>[hidden, labels]</c> (the transpose of torch's <c>Linear.weight</c>).</summary>
    public const string HeadWeight = "head_classifier_weight";

    /// <summary>Classify head bias <c>[labels]</c>.</summary>
    public const string HeadBias = "head_classifier_bias";

    /// <summary>Gradient output of the training graph for trainable tensor <paramref name="param"/>.</summary>
    public static string Grad(string param) => $"{param}_grad";

    /// <summary>AdamW first moment of <paramref name="param"/>.</summary>
    public static string FirstMoment(string param) => $"{param}_m";

    /// <summary>AdamW second moment of <paramref name="param"/>.</summary>
    public static string SecondMoment(string param) => $"{param}_v";

    /// <summary>Optimizer output: the updated value of <paramref name="param"/>.</summary>
    public static string Updated(string param) => $"{param}_new";

    /// <summary>Optimizer input: learning rate of a parameter group.</summary>
    public static string LearningRate(string group) => $"lr_{group}";

    /// <summary>Optimizer input: weight decay of a parameter group.</summary>
    public static string WeightDecay(string group) => $"weight_decay_{group}";

    /// <summary>Optimizer input: the 1-based step count used for bias correction (float scalar).</summary>
    public const string Step = "step";

    /// <summary>Optimizer output: L2 norm over every gradient (float scalar), for reporting.</summary>
    public const string GradNorm = "grad_norm";

    /// <summary>
    /// Optimizer output: true when every gradient element is finite (bool scalar). When false the optimizer
    /// returns its inputs unchanged, so the state stays the last good one.
    /// </summary>
    public const string AllFinite = "all_finite";
}
