using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace VbLoraOrt.DataPrep;

/// <summary>
/// The readable part of a raw e-mail: its Subject and its body as plain text (MIME parts decoded, the text/plain
/// part preferred over text/html, HTML tags roughly stripped, whitespace collapsed). All other headers are
/// dropped: they would give the label away (spam traps, mailing-list headers, dates of collection).
/// </summary>
public static partial class EmailText
{
    static EmailText() => Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

    /// <summary>Subject, a newline, then the body, cut to <paramref name="maxChars"/> characters.</summary>
    public static string Extract(string rawEmail, int maxChars)
    {
        (Dictionary<string, string> headers, string body) = Split(rawEmail);
        string subject = Collapse(DecodeWords(headers.GetValueOrDefault("subject", "")));
        string text = Collapse(BodyText(headers, body, depth: 0));
        string joined = subject.Length == 0 ? text : text.Length == 0 ? subject : subject + "\n" + text;
        return joined.Length <= maxChars ? joined : joined[..maxChars].TrimEnd();
    }

    static (Dictionary<string, string> Headers, string Body) Split(string message)
    {
        message = message.Replace("\r\n", "\n");
        int end = message.IndexOf("\n\n", StringComparison.Ordinal);
        string head = end < 0 ? message : message[..end];
        string body = end < 0 ? "" : message[(end + 2)..];
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        string? last = null;
        foreach (string line in head.Split('\n'))
        {
            if (line.Length > 0 && char.IsWhiteSpace(line[0]) && last is not null)
                headers[last] += " " + line.Trim(); // folded continuation
            else if (line.IndexOf(':') is > 0 and var colon)
                headers.TryAdd(last = line[..colon].Trim(), line[(colon + 1)..].Trim());
        }
        return (headers, body);
    }

    static string BodyText(Dictionary<string, string> headers, string body, int depth)
    {
        string type = headers.GetValueOrDefault("content-type", "text/plain").ToLowerInvariant();
        if (type.StartsWith("multipart/", StringComparison.Ordinal) && depth < 5
            && Parameter(headers["content-type"], "boundary") is { } boundary)
        {
            var parts = body.Split("--" + boundary).Skip(1).Where(p => !p.StartsWith("--", StringComparison.Ordinal))
                .Select(p => Split(p.TrimStart('\n'))).ToList();
            var plain = parts.FirstOrDefault(p => p.Headers.GetValueOrDefault("content-type", "text/plain").StartsWith("text/plain", StringComparison.OrdinalIgnoreCase));
            List<(Dictionary<string, string> Headers, string Body)> chosen = plain.Headers is not null ? [plain] : parts;
            return string.Join("\n", chosen.Select(p => BodyText(p.Headers, p.Body, depth + 1)));
        }
        if (!type.StartsWith("text/", StringComparison.Ordinal) && !type.StartsWith("multipart/", StringComparison.Ordinal))
            return ""; // attachments, images
        string decoded = Decode(body, headers.GetValueOrDefault("content-transfer-encoding", ""), Parameter(type, "charset"));
        return type.StartsWith("text/html", StringComparison.Ordinal) || LooksLikeHtml(decoded) ? StripHtml(decoded) : decoded;
    }

    static string Decode(string body, string transferEncoding, string? charset)
    {
        byte[] bytes;
        switch (transferEncoding.Trim().ToLowerInvariant())
        {
            case "quoted-printable":
                bytes = QuotedPrintable(body);
                break;
            case "base64":
                try { bytes = Convert.FromBase64String(string.Concat(body.Where(c => !char.IsWhiteSpace(c)))); }
                catch (FormatException) { return body; }
                break;
            default:
                return body;
        }
        Encoding encoding;
        try { encoding = charset is null ? Windows1252 : Encoding.GetEncoding(charset); }
        catch (ArgumentException) { encoding = Windows1252; }
        return encoding.GetString(bytes);
    }

    static byte[] QuotedPrintable(string body)
    {
        var bytes = new List<byte>(body.Length);
        for (int i = 0; i < body.Length; i++)
        {
            char c = body[i];
            if (c == '=' && i + 1 < body.Length && body[i + 1] == '\n')
                i++; // soft line break
            else if (c == '=' && i + 2 < body.Length && Uri.IsHexDigit(body[i + 1]) && Uri.IsHexDigit(body[i + 2]))
            {
                bytes.Add(Convert.ToByte(body.Substring(i + 1, 2), 16));
                i += 2;
            }
            else
                bytes.AddRange(c < 256 ? [(byte)c] : Encoding.UTF8.GetBytes(c.ToString()));
        }
        return [.. bytes];
    }

    static string DecodeWords(string header) => EncodedWord().Replace(header, m =>
    {
        try
        {
            Encoding encoding = Encoding.GetEncoding(m.Groups[1].Value);
            byte[] bytes = m.Groups[2].Value is "B" or "b"
                ? Convert.FromBase64String(m.Groups[3].Value)
                : QuotedPrintable(m.Groups[3].Value.Replace('_', ' '));
            return encoding.GetString(bytes);
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            return m.Value;
        }
    });

    static string? Parameter(string header, string name)
    {
        Match match = Regex.Match(header, name + "\\s*=\\s*\"?([^\";]+)\"?", RegexOptions.IgnoreCase);
        return match.Success ? match.Groups[1].Value.Trim() : null;
    }

    static bool LooksLikeHtml(string text) => HtmlMarker().IsMatch(text);

    static string StripHtml(string html)
    {
        string text = ScriptOrStyle().Replace(html, " ");
        text = Comment().Replace(text, " ");
        text = Tag().Replace(text, " ");
        return WebUtility.HtmlDecode(text);
    }

    // Mail software labelled windows-1252 text as Latin-1 (or not at all): C1 controls are its curly quotes and bullets.
    static Encoding Windows1252 => Encoding.GetEncoding(1252);

    static string Collapse(string text)
    {
        var fixedC1 = new StringBuilder(text.Length);
        foreach (char c in text)
            fixedC1.Append(c is >= '\u0080' and <= '\u009F' ? Windows1252.GetString([(byte)c]) : c.ToString());
        return Whitespace().Replace(fixedC1.ToString(), " ").Trim();
    }

    [GeneratedRegex(@"=\?([^?]+)\?([BbQq])\?([^?]*)\?=")]
    private static partial Regex EncodedWord();

    [GeneratedRegex(@"<\s*(html|body|p|br|div|table|font)\b", RegexOptions.IgnoreCase)]
    private static partial Regex HtmlMarker();

    [GeneratedRegex(@"<(script|style)\b.*?</\1\s*>", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex ScriptOrStyle();

    [GeneratedRegex(@"<!--.*?-->", RegexOptions.Singleline)]
    private static partial Regex Comment();

    [GeneratedRegex(@"<[^>]*>")]
    private static partial Regex Tag();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
