using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace VbLoraOrt.Adapters.Peft;

/// <summary>
/// Writes a JSON tree byte for byte as Python's <c>json.dumps(obj, indent=2, sort_keys=True)</c> does — the call PEFT's
/// <c>PeftConfigMixin.save_pretrained</c> makes: keys sorted by code point, two-space indents, <c>","</c> at line
/// ends and <c>": "</c> after keys, empty containers as <c>[]</c>/<c>{}</c>, non-ASCII
/// escaped as lowercase <c>\uXXXX</c> (<c>ensure_ascii</c>), integers as written, and floats as Python's
/// <c>repr</c> (shortest round-trip digits; exponent form when the decimal point would sit more than 16 places right
/// or 4 or more places left of the first digit, e.g. <c>1e-05</c>, <c>0.0001</c>, <c>256.0</c>). No trailing newline.
/// A parsed number counts as a float when its text has a <c>.</c>, <c>e</c> or <c>E</c>, as Python's parser decides.
/// </summary>
public static class PythonJson
{
    /// <summary>The text <c>json.dumps(node, indent=2, sort_keys=True)</c> produces for <paramref name="node"/>.</summary>
    public static string Dumps(JsonNode? node)
    {
        var text = new StringBuilder();
        Write(text, node, 0);
        return text.ToString();
    }

    /// <summary>Python's <c>repr(float)</c>.</summary>
    public static string FloatRepr(double value)
    {
        if (double.IsNaN(value)) return "NaN";
        if (double.IsPositiveInfinity(value)) return "Infinity";
        if (double.IsNegativeInfinity(value)) return "-Infinity";
        string sign = double.IsNegative(value) ? "-" : "";
        var (digits, point) = ShortestDigits(Math.Abs(value));
        if (point <= -4 || point > 16)
        {
            int exponent = point - 1;
            string mantissa = digits.Length == 1 ? digits : $"{digits[0]}.{digits[1..]}";
            return $"{sign}{mantissa}e{(exponent < 0 ? "-" : "+")}{Math.Abs(exponent):00}";
        }
        if (point <= 0)
            return $"{sign}0.{new string('0', -point)}{digits}";
        if (point >= digits.Length)
            return $"{sign}{digits}{new string('0', point - digits.Length)}.0";
        return $"{sign}{digits[..point]}.{digits[point..]}";
    }

    static void Write(StringBuilder text, JsonNode? node, int depth)
    {
        switch (node)
        {
            case null:
                text.Append("null");
                break;
            case JsonObject obj when obj.Count == 0:
                text.Append("{}");
                break;
            case JsonObject obj:
                WriteItems(text, '{', '}', depth, obj.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (Action)(() =>
                {
                    WriteString(text, kv.Key);
                    text.Append(": ");
                    Write(text, kv.Value, depth + 1);
                })));
                break;
            case JsonArray array when array.Count == 0:
                text.Append("[]");
                break;
            case JsonArray array:
                WriteItems(text, '[', ']', depth, array.Select(item => (Action)(() => Write(text, item, depth + 1))));
                break;
            case JsonValue value:
                WriteValue(text, value);
                break;
            default:
                throw new ArgumentException($"unsupported JSON node {node.GetType().Name}");
        }
    }

    // One item per line, indented one level deeper than the brackets, separated by "," at the line ends.
    static void WriteItems(StringBuilder text, char open, char close, int depth, IEnumerable<Action> items)
    {
        text.Append(open);
        bool first = true;
        foreach (var writeItem in items)
        {
            text.Append(first ? "\n" : ",\n").Append(' ', 2 * (depth + 1));
            first = false;
            writeItem();
        }
        text.Append('\n').Append(' ', 2 * depth).Append(close);
    }

    static void WriteValue(StringBuilder text, JsonValue value)
    {
        if (value.TryGetValue(out JsonElement element))
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.String: WriteString(text, element.GetString()!); return;
                case JsonValueKind.True: text.Append("true"); return;
                case JsonValueKind.False: text.Append("false"); return;
                case JsonValueKind.Null: text.Append("null"); return;
                case JsonValueKind.Number:
                    string raw = element.GetRawText();
                    text.Append(raw.AsSpan().IndexOfAny('.', 'e', 'E') >= 0 ? FloatRepr(double.Parse(raw, CultureInfo.InvariantCulture)) : raw);
                    return;
                default:
                    Write(text, JsonNode.Parse(element.GetRawText()), 0);
                    return;
            }
        }
        if (value.TryGetValue(out string? s)) WriteString(text, s);
        else if (value.TryGetValue(out bool b)) text.Append(b ? "true" : "false");
        else if (value.TryGetValue(out int i)) text.Append(i.ToString(CultureInfo.InvariantCulture));
        else if (value.TryGetValue(out long l)) text.Append(l.ToString(CultureInfo.InvariantCulture));
        else if (value.TryGetValue(out double d)) text.Append(FloatRepr(d));
        else if (value.TryGetValue(out float f)) text.Append(FloatRepr(f));
        else throw new ArgumentException($"unsupported JSON value {value.ToJsonString()}");
    }

    static void WriteString(StringBuilder text, string s)
    {
        text.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                case '\b': text.Append("\\b"); break;
                case '\f': text.Append("\\f"); break;
                default:
                    if (c < 0x20 || c > 0x7e && c != 0x7f)
                        text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else
                        text.Append(c);
                    break;
            }
        }
        text.Append('"');
    }

    // Shortest round-trip decimal digits of a finite non-negative value, and the position of the decimal point
    // relative to them (value = 0.d1d2… × 10^point), as CPython's dtoa reports them.
    static (string Digits, int Point) ShortestDigits(double value)
    {
        if (value == 0)
            return ("0", 1);
        string shortest = value.ToString("R", CultureInfo.InvariantCulture);
        int e = shortest.IndexOfAny(['E', 'e']);
        string mantissa = e < 0 ? shortest : shortest[..e];
        int exponent = e < 0 ? 0 : int.Parse(shortest[(e + 1)..], CultureInfo.InvariantCulture);
        int dot = mantissa.IndexOf('.');
        string intPart = dot < 0 ? mantissa : mantissa[..dot], fracPart = dot < 0 ? "" : mantissa[(dot + 1)..];
        string all = intPart + fracPart;
        int leading = all.Length - all.TrimStart('0').Length;
        string digits = all.Trim('0');
        return (digits.Length == 0 ? "0" : digits, intPart.Length - leading + exponent);
    }
}
