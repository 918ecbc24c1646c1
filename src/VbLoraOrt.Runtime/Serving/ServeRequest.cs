using System.Text.Json;

namespace VbLoraOrt.Runtime.Serving;

/// <summary>One line of a request stream: <c>{"adapter": NAME, "text": TEXT}</c>, optionally with an <c>"id"</c> echoed back.</summary>
/// <param name="Line">1-based line number in the stream.</param>
/// <param name="Adapter">The adapter's name; null selects none (the zero update).</param>
/// <param name="Text">The text.</param>
/// <param name="Id">The request's <c>"id"</c> as given, or null.</param>
/// <param name="Error">Why the line is not a request, or null.</param>
public sealed record ServeRequest(int Line, string? Adapter, string Text, JsonElement? Id, string? Error = null)
{
    /// <summary>Parses line <paramref name="number"/>; a line that is not a request gives <see cref="Error"/>.</summary>
    public static ServeRequest Parse(string line, int number)
    {
        ArgumentNullException.ThrowIfNull(line);
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return Bad(number, "a request is a JSON object {\"adapter\": ..., \"text\": ...}");
            JsonElement? id = root.TryGetProperty("id", out var i) ? i.Clone() : null;
            if (!root.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
                return Bad(number, "\"text\" is missing or not a string", id);
            string? adapter = null;
            if (root.TryGetProperty("adapter", out var a) && a.ValueKind != JsonValueKind.Null)
            {
                if (a.ValueKind != JsonValueKind.String)
                    return Bad(number, "\"adapter\" must be a string (an adapter's name) or null", id);
                adapter = a.GetString();
            }
            return new ServeRequest(number, adapter, text.GetString()!, id);
        }
        catch (JsonException e)
        {
            return Bad(number, $"not valid JSON ({e.Message})");
        }
    }

    static ServeRequest Bad(int number, string error, JsonElement? id = null) => new(number, null, "", id, error);
}
