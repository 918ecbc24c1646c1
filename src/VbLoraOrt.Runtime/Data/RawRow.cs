namespace VbLoraOrt.Runtime.Data;

/// <summary>How a field was written: a JSON string, a JSON number, or CSV/TSV text whose type is read from its content.</summary>
internal enum RawKind { String, Number, Untyped, Other }

/// <summary>One field as read from the file, before it is checked against the task.</summary>
internal readonly record struct RawValue(string Text, RawKind Kind);

/// <summary>One row of a data file: its 1-based starting line and its named fields (null when the row is bad).</summary>
internal sealed record RawRow(int Line, IReadOnlyDictionary<string, RawValue>? Fields, string? Problem);
