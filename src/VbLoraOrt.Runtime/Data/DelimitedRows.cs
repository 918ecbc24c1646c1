using System.Text;

namespace VbLoraOrt.Runtime.Data;

/// <summary>
/// Rows of a CSV file (RFC 4180: comma-separated, fields may be double-quoted, <c>""</c> inside quotes is a quote,
/// a quoted field may span lines) or a TSV file (tab-separated, no quoting). The first row names the columns.
/// </summary>
internal static class DelimitedRows
{
    public static IEnumerable<RawRow> Read(TextReader text, char separator, int maxRowChars)
    {
        var reader = new BoundedLineReader(text, maxRowChars);
        string[]? header = null;
        while (true)
        {
            int line = reader.LineNumber + 1;
            (List<string>? fields, string? problem, bool end) = separator == ','
                ? ReadCsvRecord(reader, maxRowChars)
                : ReadTsvRecord(reader, maxRowChars);
            if (end)
                yield break;
            if (problem is not null)
            {
                if (header is null)
                    throw new FormatException($"line {line}: header row: {problem}");
                yield return new RawRow(line, null, problem);
                continue;
            }
            if (fields!.Count == 1 && fields[0].Length == 0)
                continue; // blank line
            if (header is null)
            {
                header = [.. fields.Select(f => f.Trim())];
                continue;
            }
            if (fields.Count != header.Length)
            {
                yield return new RawRow(line, null, $"{fields.Count} fields but the header has {header.Length} ({string.Join(", ", header)}); quote fields that contain '{(separator == '\t' ? "\\t" : separator)}'");
                continue;
            }
            var row = new Dictionary<string, RawValue>(StringComparer.Ordinal);
            for (int i = 0; i < header.Length; i++)
                row[header[i]] = new RawValue(fields[i], RawKind.Untyped);
            yield return new RawRow(line, row, null);
        }
    }

    static (List<string>?, string?, bool End) ReadTsvRecord(BoundedLineReader reader, int maxRowChars)
    {
        string? line = reader.ReadLine(out bool tooLong);
        if (line is null)
            return (null, null, true);
        if (tooLong)
            return (null, $"row longer than {maxRowChars} characters, the longest a row may be; shorten it", false);
        return ([.. line.Split('\t')], null, false);
    }

    static (List<string>?, string?, bool End) ReadCsvRecord(BoundedLineReader reader, int maxRowChars)
    {
        if (reader.Peek() < 0)
            return (null, null, true);
        int startLine = reader.LineNumber + 1;
        var fields = new List<string>();
        var field = new StringBuilder();
        bool quoted = false, tooLong = false;
        int chars = 0;
        while (true)
        {
            int c = reader.Read();
            if (c < 0)
            {
                if (quoted)
                    return (null, $"unbalanced double quote: a quoted field opened on line {startLine} never closes; close it or double the quotes inside (\"\")", false);
                break;
            }
            if (++chars > maxRowChars)
                tooLong = true;
            if (quoted)
            {
                if (c == '"' && reader.Peek() == '"')
                    Append(field, (char)reader.Read(), tooLong);
                else if (c == '"')
                    quoted = false;
                else
                    Append(field, (char)c, tooLong);
            }
            else if (c == '"' && field.Length == 0)
                quoted = true;
            else if (c == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else if (c == '\n')
                break;
            else if (c != '\r' || reader.Peek() != '\n')
                Append(field, (char)c, tooLong);
        }
        fields.Add(field.ToString());
        return tooLong
            ? (null, $"row longer than {maxRowChars} characters, the longest a row may be; shorten it", false)
            : (fields, null, false);
    }

    static void Append(StringBuilder field, char c, bool tooLong)
    {
        if (!tooLong)
            field.Append(c);
    }
}
