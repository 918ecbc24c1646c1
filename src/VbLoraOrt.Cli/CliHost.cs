using System.CommandLine;
using System.CommandLine.Help;

namespace VbLoraOrt.Cli;

/// <summary>Parses and invokes a program's root command the same way for both programs: parse errors are usage errors.</summary>
public static class CliHost
{
    /// <summary>Runs <paramref name="root"/> on <paramref name="args"/>; returns the exit code.</summary>
    public static int Run(string program, RootCommand root, string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(error);
        CommandLineConventions.Apply(root);
        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var e in parsed.Errors)
                error.WriteLine($"{program}: {CommandLineConventions.Describe(e)}");
            error.WriteLine($"Run `{program} --help` for usage.");
            return ExitCodes.Usage;
        }
        if (parsed.Action is not HelpAction)
            return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error });
        var help = new StringWriter();
        int code = parsed.Invoke(new InvocationConfiguration { Output = help, Error = error });
        output.Write(CommandLineConventions.LowerCaseDefaults(help.ToString(), root));
        return code;
    }
}
