using System.Globalization;

namespace VbLoraOrt.Adapters;

/// <summary>
/// One option of an adapter method, as data: the command-line host turns it into a <c>--name</c> option, the method
/// reads its value from <see cref="MethodOptionValues"/>, and PEFT interchange maps it to <see cref="PeftField"/>.
/// Methods that share an option name (e.g. <c>rank</c>) share one command-line option with per-method defaults.
/// </summary>
/// <param name="Name">Command-line name without dashes, e.g. <c>num-vectors</c>.</param>
/// <param name="ValueType"><see cref="int"/>, <see cref="long"/>, <see cref="double"/> or <see cref="string"/> (a file).</param>
/// <param name="Default">The value when the option is not given; null when the method derives it (say how in <paramref name="Description"/>).</param>
/// <param name="Description">What it means, for help.</param>
/// <param name="PeftField">The field of PEFT's config that holds it, when PEFT has one.</param>
public sealed record MethodOption(string Name, Type ValueType, object? Default, string Description, string? PeftField = null)
{
    /// <summary>An integer option.</summary>
    public static MethodOption Int(string name, int @default, string description, string? peftField = null) =>
        new(name, typeof(int), @default, description, peftField);

    /// <summary>A 64-bit integer option.</summary>
    public static MethodOption Long(string name, long @default, string description, string? peftField = null) =>
        new(name, typeof(long), @default, description, peftField);

    /// <summary>A real-valued option; <paramref name="default"/> null when the method derives it.</summary>
    public static MethodOption Double(string name, double? @default, string description, string? peftField = null) =>
        new(name, typeof(double), @default, description, peftField);

    /// <summary>A file the method reads when it is created (no default: the method works without it).</summary>
    public static MethodOption File(string name, string description) => new(name, typeof(string), null, description);

    /// <summary>The default as help text shows it.</summary>
    public string DefaultText => Default switch
    {
        null when ValueType == typeof(string) => "none",
        null => "derived",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        var other => other.ToString() ?? "",
    };
}
