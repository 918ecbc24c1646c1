namespace VbLoraOrt.Adapters;

/// <summary>A method's configuration for the demo task, and the learning rates of its groups there.</summary>
/// <param name="Label">How the demo names the run, e.g. <c>VB-LoRA (q,v; bank 256x128, r 4, k 2)</c>.</param>
/// <param name="Options">Options that differ from the method's defaults, by option name.</param>
/// <param name="LearningRates">Learning rate per method group (the head's is the demo's own).</param>
/// <param name="Note">Where the learning rates come from (tuned on the sample, or the usual values).</param>
public sealed record DemoPreset(
    string Label,
    IReadOnlyDictionary<string, object?> Options,
    IReadOnlyDictionary<string, float> LearningRates,
    string Note);
