using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text.RegularExpressions;

namespace VbLoraOrt.Cli;

/// <summary>
/// What help and parse errors show, the same in both programs (DESIGN.md §8): enum values in lower case, as the README
/// writes them (<c>--on-non-finite &lt;skip|stop&gt; [default: stop]</c>), and a value that does not parse named with its
/// option and what the option takes, never with a .NET type name.
/// </summary>
public static partial class CommandLineConventions
{
    /// <summary>Names the values of every enum option of <paramref name="root"/> and its subcommands in lower case.</summary>
    public static void Apply(RootCommand root)
    {
        ArgumentNullException.ThrowIfNull(root);
        foreach (var option in AllOptions(root))
            if (EnumType(option.ValueType) is { } enumType)
                option.HelpName = string.Join("|", LowerCaseNames(enumType));
    }

    /// <summary>
    /// <paramref name="help"/> (System.CommandLine's help text for <paramref name="root"/>) with enum defaults in lower
    /// case: its help builder, which would take a formatter, is not public in System.CommandLine 2.0.
    /// </summary>
    public static string LowerCaseDefaults(string help, RootCommand root)
    {
        ArgumentNullException.ThrowIfNull(help);
        ArgumentNullException.ThrowIfNull(root);
        foreach (var option in AllOptions(root).Where(o => EnumType(o.ValueType) != null && o.HasDefaultValue))
            if (option.GetDefaultValue()?.ToString() is { } value)
                help = help.Replace($"[default: {value}]", $"[default: {value.ToLowerInvariant()}]", StringComparison.Ordinal);
        return help;
    }

    /// <summary>The message for a parse error: a value that does not convert is explained through its option.</summary>
    public static string Describe(ParseError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var match = CannotParse().Match(error.Message);
        if (!match.Success || error.SymbolResult is not OptionResult { Option: var option })
            return error.Message;
        return $"{option.Name} '{match.Groups["value"].Value}' is not valid; {WhatItTakes(option.ValueType)}.";
    }

    static IEnumerable<Option> AllOptions(Command command) =>
        command.Options.Concat(command.Subcommands.SelectMany(AllOptions));

    static Type? EnumType(Type type) => (Nullable.GetUnderlyingType(type) ?? type) is { IsEnum: true } e ? e : null;

    static IEnumerable<string> LowerCaseNames(Type enumType) => Enum.GetNames(enumType).Select(n => n.ToLowerInvariant());

    static string WhatItTakes(Type type)
    {
        if (EnumType(type) is { } enumType)
            return "use one of " + string.Join(", ", LowerCaseNames(enumType));
        Type value = Nullable.GetUnderlyingType(type) ?? type;
        return value == typeof(int) || value == typeof(long) ? "give a whole number"
            : value == typeof(float) || value == typeof(double) ? "give a number (e.g. 0.001 or 1e-3)"
            : value == typeof(bool) ? "give true or false"
            : "see --help";
    }

    [GeneratedRegex(@"^Cannot parse argument '(?<value>.*?)' for option '[^']*' as expected type", RegexOptions.Singleline)]
    private static partial Regex CannotParse();
}
