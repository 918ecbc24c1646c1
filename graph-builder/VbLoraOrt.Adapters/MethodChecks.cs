using System.Globalization;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters;

/// <summary>The range checks methods' options share; each names the option as the command line spells it.</summary>
public static class MethodChecks
{
    /// <summary>Throws unless <paramref name="value"/> ≥ 1.</summary>
    /// <exception cref="UsageException">It is not.</exception>
    public static void AtLeastOne(long value, string option)
    {
        if (value < 1)
            throw new UsageException($"--{option} must be at least 1, not {value}.");
    }

    /// <summary>Throws unless <paramref name="value"/> is finite and ≥ 0.</summary>
    /// <exception cref="UsageException">It is not.</exception>
    public static void FiniteNonNegative(double value, string option)
    {
        if (!(value >= 0) || double.IsInfinity(value))
            throw new UsageException($"--{option} must be a finite number ≥ 0, not {value.ToString(CultureInfo.InvariantCulture)}.");
    }

    /// <summary>Adapter dropout is not supported: only 0.</summary>
    /// <exception cref="UsageException">It is not 0.</exception>
    public static void NoDropout(double dropout)
    {
        if (dropout != 0)
            throw new UsageException("adapter dropout is not supported yet; use 0.");
    }
}
