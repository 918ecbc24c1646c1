namespace VbLoraOrt.Runtime.Data;

/// <summary>How data files are read; limits are checked before the offending text is held in memory.</summary>
public sealed class DataReadOptions
{
    /// <summary>Skip and count bad rows instead of throwing on the first one. Default false.</summary>
    public bool SkipBadRows { get; init; }

    /// <summary>The command's option that skips bad rows, offered in a bad row's message; null when the command has none. Default none.</summary>
    public string? SkipBadRowsOption { get; init; }

    /// <summary>Longest accepted row, in characters (a CSV row may span lines). Default 1,000,000.</summary>
    public int MaxRowChars { get; init; } = 1_000_000;

    /// <summary>Most rows read from one file; more is an error (never skipped). Default 10,000,000.</summary>
    public int MaxRows { get; init; } = 10_000_000;

    /// <summary>Class names already fixed (e.g. by the training file), so a test file gets the same ids. Default none.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }
}
