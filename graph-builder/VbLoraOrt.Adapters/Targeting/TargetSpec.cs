using System.Text.RegularExpressions;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters.Targeting;

/// <summary>
/// Which modules to adapt, with PEFT's <c>target_modules</c> semantics: a list matches a module whose path
/// equals an entry or ends with <c>.entry</c>; a single pattern is a full-match regular expression.
/// Exclusions (same two forms) are checked first.
/// </summary>
public sealed class TargetSpec
{
    TargetSpec(IReadOnlyList<string>? names, Regex? pattern, IReadOnlyList<string>? excludeNames, Regex? excludePattern)
    {
        Names = names;
        Pattern = pattern;
        ExcludeNames = excludeNames;
        ExcludePattern = excludePattern;
    }

    /// <summary>Target names (list form), or null.</summary>
    public IReadOnlyList<string>? Names { get; }

    /// <summary>Target pattern (regex form), or null.</summary>
    public Regex? Pattern { get; }

    /// <summary>Excluded names (list form), or null.</summary>
    public IReadOnlyList<string>? ExcludeNames { get; }

    /// <summary>Excluded pattern (regex form), or null.</summary>
    public Regex? ExcludePattern { get; }

    /// <summary>Targets by name list, e.g. <c>["query", "value"]</c>.</summary>
    public static TargetSpec FromNames(IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var list = names.Select(n => n.Trim()).Where(n => n.Length > 0).ToList();
        if (list.Count == 0)
            throw new UsageException("the target list is empty; name at least one module, e.g. --targets query,value");
        return new TargetSpec(list, null, null, null);
    }

    /// <summary>Targets by a full-match regular expression, e.g. <c>.*\.(query|value)</c>.</summary>
    public static TargetSpec FromRegex(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        return new TargetSpec(null, Compile(pattern), null, null);
    }

    /// <summary>The same targets, excluding modules that match <paramref name="names"/> (list form).</summary>
    public TargetSpec Excluding(IEnumerable<string> names) =>
        new(Names, Pattern, names.Select(n => n.Trim()).Where(n => n.Length > 0).ToList(), null);

    /// <summary>The same targets, excluding modules that fully match <paramref name="pattern"/>.</summary>
    public TargetSpec ExcludingRegex(string pattern) => new(Names, Pattern, null, Compile(pattern));

    /// <summary>True when <paramref name="path"/> is selected (and not excluded).</summary>
    public bool Matches(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (ExcludeNames != null && MatchesList(ExcludeNames, path)) return false;
        if (ExcludePattern != null && ExcludePattern.IsMatch(path)) return false;
        return Names != null ? MatchesList(Names, path) : Pattern!.IsMatch(path);
    }

    /// <summary>The spec as the user wrote it (for messages and manifests).</summary>
    public override string ToString()
    {
        string targets = Names != null ? string.Join(",", Names) : $"regex {Pattern}";
        string? excluded = ExcludeNames != null ? string.Join(",", ExcludeNames) : ExcludePattern?.ToString();
        return excluded == null ? targets : $"{targets} excluding {excluded}";
    }

    static bool MatchesList(IReadOnlyList<string> names, string path) =>
        names.Any(n => path == n || path.EndsWith("." + n, StringComparison.Ordinal));

    // Full match, as Python's re.fullmatch.
    static Regex Compile(string pattern)
    {
        try
        {
            return new Regex($"^(?:{pattern})$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"--target-regex '{pattern}' is not a valid regular expression: {e.Message}", e);
        }
    }
}
