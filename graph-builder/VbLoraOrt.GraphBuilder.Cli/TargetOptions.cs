using System.CommandLine;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.GraphBuilder.Cli;

/// <summary>The <c>--targets</c> / <c>--target-regex</c> / <c>--exclude</c> options and their PEFT-style spec.</summary>
sealed class TargetOptions
{
    public Option<string?> Targets { get; } = new("--targets")
    {
        Description = "Comma-separated module names; a module matches when its path equals a name or ends with .name (e.g. query,value).",
    };

    public Option<string?> TargetRegex { get; } = new("--target-regex")
    {
        Description = "Full-match regular expression over module paths (e.g. '.*\\.attention\\.self\\.(query|value)').",
    };

    public Option<string?> Exclude { get; } = new("--exclude")
    {
        Description = "Comma-separated module names to leave out (checked before the targets).",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Targets);
        command.Options.Add(TargetRegex);
        command.Options.Add(Exclude);
    }

    /// <summary>The spec, or null when no target option was given.</summary>
    public TargetSpec? Read(ParseResult result)
    {
        string? names = result.GetValue(Targets), regex = result.GetValue(TargetRegex), exclude = result.GetValue(Exclude);
        if (names != null && regex != null)
            throw new UsageException("give either --targets or --target-regex, not both");
        TargetSpec? spec = names != null ? TargetSpec.FromNames(names.Split(','))
            : regex != null ? TargetSpec.FromRegex(regex) : null;
        if (exclude != null)
            spec = (spec ?? throw new UsageException("--exclude needs --targets or --target-regex")).Excluding(exclude.Split(','));
        return spec;
    }
}
