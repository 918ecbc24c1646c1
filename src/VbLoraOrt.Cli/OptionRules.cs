using System.CommandLine;

namespace VbLoraOrt.Cli;

/// <summary>Range rules checked while parsing, so a value out of range is a usage error naming the option (exit 2).</summary>
public static class OptionRules
{
    /// <summary>Refuses a value of <paramref name="option"/> below <paramref name="minimum"/>; returns the option.</summary>
    public static Option<T> AtLeast<T>(this Option<T> option, T minimum) where T : struct, IComparable<T>
    {
        ArgumentNullException.ThrowIfNull(option);
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && result.GetValueOrDefault<T>() is var value && value.CompareTo(minimum) < 0)
                result.AddError($"{option.Name} {value} must be at least {minimum}.");
        });
        return option;
    }
}
