using System.Globalization;

namespace VbLoraOrt.Runtime.Data;

/// <summary>
/// Reads data files by extension: <c>.jsonl</c> (one JSON object per line), <c>.csv</c> (RFC 4180 with a header
/// row) or <c>.tsv</c> (tab-separated with a header row, no quoting). Fields: <c>text</c>, optional
/// <c>text_pair</c> and <c>label</c> for classification/regression; <c>anchor</c> and <c>positive</c> for embedding.
/// </summary>
/// <remarks>
/// A bad row (invalid JSON, missing field, wrong type, unbalanced quotes, too long) throws a
/// <see cref="DataFileException"/> <c>file:line: what is wrong; what to do</c>, or with
/// <see cref="DataReadOptions.SkipBadRows"/> is counted and skipped. Files are read as UTF-8.
/// </remarks>
public static class DataFileReader
{
    const int MaxKeptProblems = 20;

    /// <summary>Reads a classification (<see cref="LabelKind.Class"/>) or regression file.</summary>
    public static TextDataset ReadText(string path, LabelKind kind, DataReadOptions? options = null)
    {
        options ??= new DataReadOptions();
        var problems = new Problems(path, options);
        var rows = new List<(TextExample Example, string RawLabel, RawKind LabelKind)>();
        foreach (RawRow row in ReadRows(path, options))
        {
            string? problem = TextRow(row, kind, out string text, out string? pair, out RawValue label);
            if (problem is not null)
                problems.Add(row.Line, problem);
            else
                rows.Add((new TextExample(text, pair, 0, $"{path}:{row.Line}"), label.Text.Trim(), label.Kind));
        }
        return kind == LabelKind.Regression
            ? Regression(rows, problems)
            : Classes(rows, options.ClassNames, problems);
    }

    /// <summary>Reads an embedding file of (<c>anchor</c>, <c>positive</c>) rows.</summary>
    public static PairDataset ReadPairs(string path, DataReadOptions? options = null)
    {
        options ??= new DataReadOptions();
        var problems = new Problems(path, options);
        var examples = new List<PairExample>();
        foreach (RawRow row in ReadRows(path, options))
        {
            string anchor = "", positive = "";
            string? problem = row.Problem
                ?? RequiredText(row.Fields!, "anchor", out anchor)
                ?? RequiredText(row.Fields!, "positive", out positive);
            if (problem is not null)
                problems.Add(row.Line, problem);
            else
                examples.Add(new PairExample(anchor, positive, $"{path}:{row.Line}"));
        }
        return new PairDataset(examples, problems.Count, problems.Kept);
    }

    // Bytes that are not UTF-8 decode to U+FFFF (a noncharacter no text needs), so the row holding them is reported as a
    // bad row with its line instead of reaching the tokenizer as replacement characters.
    const char InvalidByteMarker = '\uFFFF';

    static readonly System.Text.Encoding StrictUtf8 = System.Text.Encoding.GetEncoding(
        "utf-8", System.Text.EncoderFallback.ReplacementFallback, new System.Text.DecoderReplacementFallback(InvalidByteMarker.ToString()));

    static List<RawRow> ReadRows(string path, DataReadOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new DataFileException(path, 0, "file not found; check the path");
        string extension = Path.GetExtension(path).ToLowerInvariant();
        using var reader = new StreamReader(path, StrictUtf8, detectEncodingFromByteOrderMarks: true);
        IEnumerable<RawRow> source = extension switch
        {
            ".jsonl" or ".ndjson" => JsonLinesRows.Read(reader, options.MaxRowChars),
            ".csv" => DelimitedRows.Read(reader, ',', options.MaxRowChars),
            ".tsv" => DelimitedRows.Read(reader, '\t', options.MaxRowChars),
            _ => throw new DataFileException(path, 0, $"unknown data file type '{extension}'; use .jsonl, .csv or .tsv"),
        };
        var rows = new List<RawRow>();
        try
        {
            foreach (RawRow row in source)
            {
                if (rows.Count == options.MaxRows)
                    throw new DataFileException(path, row.Line, $"more than {options.MaxRows} rows, the most one file may hold; split the file");
                rows.Add(row.Fields?.Values.Any(v => v.Text.Contains(InvalidByteMarker, StringComparison.Ordinal)) == true
                    ? row with { Fields = null, Problem = "text that is not valid UTF-8; save the file as UTF-8" }
                    : row);
            }
        }
        catch (FormatException e)
        {
            throw new DataFileException(path, 0, e.Message + "; the first row must name the columns");
        }
        return rows;
    }

    static string? TextRow(RawRow row, LabelKind kind, out string text, out string? pair, out RawValue label)
    {
        pair = null;
        label = default;
        text = "";
        if (row.Problem is not null)
            return row.Problem;
        IReadOnlyDictionary<string, RawValue> fields = row.Fields!;
        if (RequiredText(fields, "text", out text) is { } problem)
            return problem;
        if (fields.TryGetValue("text_pair", out RawValue second) && second is not { Kind: RawKind.Other, Text: "null" })
        {
            if (second.Kind is not (RawKind.String or RawKind.Untyped))
                return $"field 'text_pair' must be a string, not {second.Text}; quote it or leave it out";
            pair = second.Text;
        }
        if (!fields.TryGetValue("label", out label))
            return "missing field 'label'; every row needs a label";
        if (label.Kind == RawKind.Other)
            return $"field 'label' is {label.Text}; write {(kind == LabelKind.Regression ? "a number" : "an integer class id or a class name")}";
        return null;
    }

    static string? RequiredText(IReadOnlyDictionary<string, RawValue> fields, string name, out string text)
    {
        text = "";
        if (!fields.TryGetValue(name, out RawValue value))
            return $"missing field '{name}'; fields present: {string.Join(", ", fields.Keys)}";
        if (value.Kind is not (RawKind.String or RawKind.Untyped))
            return $"field '{name}' must be a string, not {value.Text}; quote it";
        text = value.Text;
        return null;
    }

    static TextDataset Regression(List<(TextExample Example, string RawLabel, RawKind Kind)> rows, Problems problems)
    {
        var examples = new List<TextExample>(rows.Count);
        foreach (var (example, raw, kind) in rows)
        {
            if (kind != RawKind.String
                && double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out double target) && double.IsFinite(target))
                examples.Add(example with { Label = target });
            else
                problems.Add(example.Source, $"label '{raw}' is not a finite number; regression labels are numbers like 0.75");
        }
        return new TextDataset(examples, LabelKind.Regression, null, 0, problems.Count, problems.Kept);
    }

    static TextDataset Classes(List<(TextExample Example, string RawLabel, RawKind Kind)> rows,
        IReadOnlyList<string>? fixedNames, Problems problems)
    {
        // Integer ids when the first label is an integer (and no names are fixed); class names otherwise.
        bool ids = fixedNames is null && rows.Count > 0 && rows[0].Kind != RawKind.String && IsClassId(rows[0].RawLabel, out _);
        IReadOnlyList<string>? names = ids ? null
            : fixedNames ?? rows.Select(r => r.RawLabel).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        Dictionary<string, int>? nameIds = names?.Select((name, id) => (name, id)).ToDictionary(p => p.name, p => p.id, StringComparer.Ordinal);
        var examples = new List<TextExample>(rows.Count);
        foreach (var (example, raw, kind) in rows)
        {
            if (ids && kind != RawKind.String && IsClassId(raw, out int id))
                examples.Add(example with { Label = id });
            else if (ids)
                problems.Add(example.Source, $"label '{raw}' is not a non-negative integer, but the first row uses integer class ids; use one kind of label in a file");
            else if (nameIds!.TryGetValue(raw, out int named))
                examples.Add(example with { Label = named });
            else
                problems.Add(example.Source, $"label '{raw}' is not one of the classes {string.Join(", ", names!)}; fix the label or train with it");
        }
        int classCount = names?.Count ?? (examples.Count == 0 ? 0 : (int)examples.Max(e => e.Label) + 1);
        return new TextDataset(examples, LabelKind.Class, names, classCount, problems.Count, problems.Kept);
    }

    static bool IsClassId(string raw, out int id) =>
        int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out id);

    /// <summary>Bad rows: thrown at once, or counted with the first few messages kept.</summary>
    sealed class Problems(string path, DataReadOptions options)
    {
        readonly List<string> _kept = [];

        public int Count { get; private set; }
        public IReadOnlyList<string> Kept => _kept;

        public void Add(int line, string problem)
        {
            var error = new DataFileException(path, line, problem + (options.SkipBadRows || options.SkipBadRowsOption is null ? "" : $" (or pass {options.SkipBadRowsOption} to skip such rows)"));
            if (!options.SkipBadRows)
                throw error;
            Count++;
            if (_kept.Count < MaxKeptProblems)
                _kept.Add(error.Message);
        }

        public void Add(string source, string problem) =>
            Add(int.Parse(source[(source.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture), problem);
    }
}
