using System.Text.Json;

namespace VbLoraOrt.Runtime.Data;

/// <summary>Rows of a JSON Lines file: one JSON object per line; blank lines are ignored.</summary>
internal static class JsonLinesRows
{
    static readonly JsonDocumentOptions Options = new() { MaxDepth = 8 };

    public static IEnumerable<RawRow> Read(TextReader text, int maxRowChars)
    {
        var lines = new BoundedLineReader(text, maxRowChars);
        while (lines.ReadLine(out bool tooLong) is { } line)
        {
            if (tooLong)
                yield return new RawRow(lines.LineNumber, null, $"row longer than {maxRowChars} characters, the longest a row may be; shorten it");
            else if (!string.IsNullOrWhiteSpace(line))
                yield return Parse(lines.LineNumber, line);
        }
    }

    static RawRow Parse(int lineNumber, string line)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line, Options);
        }
        catch (JsonException e)
        {
            return new RawRow(lineNumber, null, $"invalid JSON ({e.Message}); write one complete JSON object per line");
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                return new RawRow(lineNumber, null, $"a JSON {document.RootElement.ValueKind.ToString().ToLowerInvariant()} where an object is expected; write one object per line like {{\"text\": \"...\", \"label\": ...}}");
            var fields = new Dictionary<string, RawValue>(StringComparer.Ordinal);
            foreach (JsonProperty property in document.RootElement.EnumerateObject())
                fields[property.Name] = property.Value.ValueKind switch
                {
                    JsonValueKind.String => new RawValue(property.Value.GetString()!, RawKind.String),
                    JsonValueKind.Number => new RawValue(property.Value.GetRawText(), RawKind.Number),
                    _ => new RawValue(property.Value.GetRawText(), RawKind.Other),
                };
            return new RawRow(lineNumber, fields, null);
        }
    }
}
