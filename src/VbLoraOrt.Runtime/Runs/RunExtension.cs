using VbLoraOrt.Onnx;

namespace VbLoraOrt.Runtime.Runs;

/// <summary>
/// How <c>train --resume</c> trains a run further: a new total of optimizer steps (<c>--max-steps</c>, which wins as it
/// does on a new run) or of epochs (<c>--epochs</c>). The totals count from the run's start, and the learning-rate
/// schedule stretches to the new last step.
/// </summary>
/// <param name="MaxSteps">The new total of steps, or null.</param>
/// <param name="Epochs">The new total of epochs, or null.</param>
public sealed record RunExtension(long? MaxSteps, int? Epochs)
{
    /// <summary>The run's options with the new total.</summary>
    /// <exception cref="UsageException">The total is not at least 1.</exception>
    internal TrainOptions ApplyTo(TrainOptions options)
    {
        var extended = MaxSteps is long steps ? options with { MaxSteps = steps }
            : Epochs is int epochs ? options with { Epochs = epochs, MaxSteps = null }
            : options;
        extended.Validate();
        return extended;
    }

    /// <summary>Refuses a total the run has already reached.</summary>
    /// <exception cref="UsageException">The run's <paramref name="step"/> is at or past <paramref name="totalSteps"/>.</exception>
    internal void RequireBeyond(long step, long totalSteps)
    {
        if (totalSteps > step)
            return;
        throw new UsageException(MaxSteps is long steps
            ? $"--max-steps {steps}: the run is already at step {step}; give a larger total (steps count from the run's start)."
            : $"--epochs {Epochs}: the run is already at step {step}, and {Epochs} epoch(s) end at step {totalSteps}; give more epochs (they count from the run's start).");
    }
}
