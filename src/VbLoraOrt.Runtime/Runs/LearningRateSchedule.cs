namespace VbLoraOrt.Runtime.Runs;

/// <summary>Linear warm-up to the base rate, then linear decay to 0 at the last step (constant when the total is unknown).</summary>
public sealed class LearningRateSchedule(long warmupSteps, long totalSteps)
{
    /// <summary>Multiplier of the base rate for 1-based optimizer step <paramref name="step"/>.</summary>
    public double Factor(long step)
    {
        if (warmupSteps > 0 && step <= warmupSteps)
            return (double)step / warmupSteps;
        if (totalSteps <= warmupSteps)
            return 1.0;
        return Math.Max(0.0, (double)(totalSteps - step + 1) / (totalSteps - warmupSteps));
    }
}
