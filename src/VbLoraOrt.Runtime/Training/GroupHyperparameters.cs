namespace VbLoraOrt.Runtime.Training;

/// <summary>AdamW settings of one parameter group for one step (a schedule may change them every step).</summary>
/// <param name="LearningRate">Step size, ≥ 0.</param>
/// <param name="WeightDecay">Decoupled weight decay, ≥ 0 (PyTorch AdamW default 0.01).</param>
public sealed record GroupHyperparameters(float LearningRate, float WeightDecay);
