using System.Text;

namespace VbLoraOrt.Runtime.Data;

/// <summary>Reads lines (LF or CRLF) while counting them, refusing to hold more than a maximum number of characters.</summary>
internal sealed class BoundedLineReader(TextReader reader, int maxChars)
{
    readonly StringBuilder _line = new();

    /// <summary>1-based number of the line last returned.</summary>
    public int LineNumber { get; private set; }

    /// <summary>The next line without its terminator, null at the end; <paramref name="tooLong"/> when it was cut off (the rest is skipped).</summary>
    public string? ReadLine(out bool tooLong)
    {
        _line.Clear();
        tooLong = false;
        int c = reader.Read();
        if (c < 0)
            return null;
        LineNumber++;
        for (; c >= 0 && c != '\n'; c = reader.Read())
        {
            if (_line.Length < maxChars)
                _line.Append((char)c);
            else
                tooLong = true;
        }
        if (_line.Length > 0 && _line[^1] == '\r')
            _line.Length--;
        return _line.ToString();
    }

    /// <summary>The next character, counting lines; -1 at the end.</summary>
    public int Read()
    {
        int c = reader.Read();
        if (c == '\n')
            LineNumber++;
        return c;
    }

    /// <summary>The next character without consuming it; -1 at the end.</summary>
    public int Peek() => reader.Peek();
}
