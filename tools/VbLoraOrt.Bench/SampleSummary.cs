namespace VbLoraOrt.Bench;

/// <summary>Median, minimum and maximum of repeated measurements (seconds, ratios…).</summary>
/// <param name="Count">Measurements.</param>
/// <param name="Median">Middle value; the mean of the two middle values when <paramref name="Count"/> is even.</param>
/// <param name="Min">Smallest value.</param>
/// <param name="Max">Largest value.</param>
public sealed record SampleSummary(int Count, double Median, double Min, double Max)
{
    /// <summary>Summarizes <paramref name="samples"/>.</summary>
    /// <exception cref="ArgumentException">No samples, or one that is not finite.</exception>
    public static SampleSummary Of(IEnumerable<double> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        double[] sorted = [.. samples.Order()];
        if (sorted.Length == 0)
            throw new ArgumentException("no measurements to summarize.", nameof(samples));
        if (sorted.Any(s => !double.IsFinite(s)))
            throw new ArgumentException($"measurements must be finite; got {string.Join(", ", sorted.Where(s => !double.IsFinite(s)))}.", nameof(samples));
        int mid = sorted.Length / 2;
        double median = sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
        return new SampleSummary(sorted.Length, median, sorted[0], sorted[^1]);
    }

    /// <summary>The same summary with every value multiplied by <paramref name="factor"/> (e.g. seconds → ms).</summary>
    public SampleSummary Scaled(double factor) => new(Count, Median * factor, Min * factor, Max * factor);
}
