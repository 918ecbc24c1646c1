using System.CommandLine;
using System.Text.RegularExpressions;
using VbLoraOrt.Cli;

namespace VbLoraOrt.Tests.Cli;

/// <summary>
/// Every command's <c>--help</c> (DESIGN.md §8): required options are marked as required, every option that takes a
/// value when it is not given shows it, enum values print in lower case as the README writes them, and no .NET type
/// name appears.
/// </summary>
[TestClass]
public sealed partial class HelpTests
{
    public static IEnumerable<TestDataRow<(string Program, string Command)>> Commands =>
        ProgramCommands.All.Select(c => new TestDataRow<(string, string)>((c.Program, c.Command.Name)) { DisplayName = $"{c.Program} {c.Command.Name}" });

    static Command Find(string program, string name) => ProgramCommands.All.Single(c => c.Program == program && c.Command.Name == name).Command;

    // The help line of an option: from its name to the next option's line.
    static string Entry(string help, Option option)
    {
        var match = Regex.Match(help, $@"^\s+{Regex.Escape(option.Name)}\b.*?(?=^\s+-|\z)", RegexOptions.Multiline | RegexOptions.Singleline);
        Assert.IsTrue(match.Success, $"{option.Name} is listed");
        return Regex.Replace(match.Value, @"\s+", " ");
    }

    static Type? EnumType(Type type) => (Nullable.GetUnderlyingType(type) ?? type) is { IsEnum: true } e ? e : null;

    [TestMethod]
    [DynamicData(nameof(Commands))]
    public void Help_ShowsRequiredMarksDefaultsAndLowerCaseValues_WithoutTypeNames((string Program, string Command) c)
    {
        var (code, help, error) = ProgramCommands.Run(c.Program, c.Command, "--help");

        Assert.AreEqual(ExitCodes.Ok, code, error);
        Assert.IsFalse(DotNetTypeName().IsMatch(help), help);
        foreach (var option in Find(c.Program, c.Command).Options.Where(o => o.Name != "--help"))
        {
            string entry = Entry(help, option);
            if (option.Required)
                StringAssert.Contains(entry, "(REQUIRED)");
            if (EnumType(option.ValueType) is { } values)
            {
                StringAssert.Contains(entry, "<" + string.Join("|", Enum.GetNames(values).Select(n => n.ToLowerInvariant())) + ">");
                if (option.HasDefaultValue)
                    StringAssert.Contains(entry, $"[default: {option.GetDefaultValue()!.ToString()!.ToLowerInvariant()}]");
            }
            bool takesAValueWhenAbsent = option.ValueType.IsValueType && Nullable.GetUnderlyingType(option.ValueType) == null && option.ValueType != typeof(bool);
            if (takesAValueWhenAbsent && !option.Required)
                Assert.IsTrue(entry.Contains("[default: ", StringComparison.Ordinal) || entry.Contains("default", StringComparison.OrdinalIgnoreCase),
                    $"{c.Program} {c.Command} {option.Name}: the value it takes when not given is shown: {entry}");
        }
    }

    [TestMethod]
    [DynamicData(nameof(Commands))]
    public void OptionsAMissingArgumentsErrorCallsRequired_AreMarkedRequiredInHelp((string Program, string Command) c)
    {
        if (c.Command == "demo")
            return; // runs the whole demo on its defaults: nothing is required
        var (_, help, _) = ProgramCommands.Run(c.Program, c.Command, "--help");
        var (code, _, error) = ProgramCommands.Run(c.Program, c.Command);
        Assert.IsTrue(code is ExitCodes.Usage or ExitCodes.BadInput, $"{c.Program} {c.Command} without options: exit {code}: {error}");
        foreach (Match m in RequiredMention().Matches(error))
        {
            var option = Find(c.Program, c.Command).Options.Single(o => o.Name == m.Groups["option"].Value);
            string entry = Entry(help, option);
            Assert.IsTrue(entry.Contains("(REQUIRED)", StringComparison.Ordinal) || entry.Contains("Required", StringComparison.Ordinal),
                $"{option.Name} is called required but its help does not say so: {entry}");
        }
    }

    [TestMethod]
    public void ParseErrors_NameTheOptionAndWhatItTakes_NotATypeName()
    {
        var (enumCode, _, enumError) = ProgramCommands.Run("run", "train", "--on-non-finite", "maybe");
        var (numberCode, _, numberError) = ProgramCommands.Run("graph", "prepare", "--model", "m.onnx", "--out", "o", "--rank", "four");

        Assert.AreEqual((ExitCodes.Usage, ExitCodes.Usage), (enumCode, numberCode));
        StringAssert.Contains(enumError, "--on-non-finite 'maybe' is not valid; use one of stop, skip");
        StringAssert.Contains(numberError, "--rank 'four' is not valid; give a whole number");
        Assert.IsFalse(DotNetTypeName().IsMatch(enumError + numberError), enumError + numberError);
    }

    [GeneratedRegex(@"\b(System|VbLoraOrt)\.[A-Z]|\b(Int32|Int64|Single|Double|Boolean|Nullable)\b|\w+Exception\b")]
    private static partial Regex DotNetTypeName();

    [GeneratedRegex(@"'?(?<option>--[a-z][a-z0-9-]*)'? is required")]
    private static partial Regex RequiredMention();
}
