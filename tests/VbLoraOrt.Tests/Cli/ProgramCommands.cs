using System.CommandLine;
using System.Text.RegularExpressions;
using VbLoraOrt.GraphBuilder.Cli;
using VbLoraOrt.Runner;

namespace VbLoraOrt.Tests.Cli;

/// <summary>The commands of both programs as System.CommandLine builds them, and the options they really take.</summary>
static partial class ProgramCommands
{
    /// <summary>(program, command) for every command of <c>vblora-graph</c> and <c>vblora-run</c>.</summary>
    public static IReadOnlyList<(string Program, Command Command)> All { get; } =
    [
        .. GraphCli.CreateRoot(TextWriter.Null, TextWriter.Null).Subcommands.Select(c => ("graph", c)),
        .. RunnerCli.CreateRoot(TextWriter.Null, TextWriter.Null).Subcommands.Select(c => ("run", c)),
    ];

    /// <summary>Every option name and alias of every command (and the programs' own, such as <c>--help</c>).</summary>
    public static IReadOnlySet<string> OptionNames { get; } = All
        .SelectMany(c => c.Command.Options.Concat(c.Command.Parents.OfType<Command>().SelectMany(p => p.Options)))
        .SelectMany(o => o.Aliases.Append(o.Name)).ToHashSet(StringComparer.Ordinal);

    /// <summary>The <c>--options</c> a text mentions (a trailing hyphen, as in <c>"--lr-" + group</c>, dropped).</summary>
    public static IEnumerable<string> Mentioned(string text) =>
        OptionMention().Matches(text).Select(m => m.Value.TrimEnd('-')).Distinct();

    /// <summary>Runs <paramref name="program"/> in process; returns the exit code, output and error.</summary>
    public static (int Code, string Output, string Error) Run(string program, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = program == "graph" ? GraphCli.Run(args, output, error) : RunnerCli.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [GeneratedRegex(@"(?<![\w-])--[a-z][a-z0-9-]*")]
    private static partial Regex OptionMention();
}
