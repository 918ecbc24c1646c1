using System.Globalization;
using System.Text;

namespace VbLoraOrt.Runtime.Text;

/// <summary>
/// BERT's accent stripping, <c>NFD</c> then drop the non-spacing marks (Mn), without depending on ICU: the
/// runtime runs with invariant globalization, where <see cref="string.Normalize()"/> silently does nothing.
/// </summary>
/// <remarks>
/// Canonical decompositions come from <c>AccentFolding.txt</c> (generated from ICU by
/// <c>vblora-data accent-table</c>); Hangul syllables decompose algorithmically into conjoining jamo.
/// Folding is per code point: it does not reorder combining marks, which only matters for spacing marks
/// (Mc) with a non-zero combining class, since every Mn mark is dropped anyway.
/// </remarks>
internal static class AccentFolding
{
    const string ResourceName = "VbLoraOrt.Runtime.Text.AccentFolding.txt";
    static readonly Lazy<Dictionary<int, string>> Table = new(LoadTable);

    /// <summary>Appends the folded form of <paramref name="rune"/> (possibly nothing) to <paramref name="output"/>.</summary>
    public static void AppendFolded(Rune rune, StringBuilder output)
    {
        if (TryAppendHangul(rune.Value, output))
            return;
        if (Table.Value.TryGetValue(rune.Value, out string? folded))
            output.Append(folded);
        else if (Rune.GetUnicodeCategory(rune) != UnicodeCategory.NonSpacingMark)
            output.Append(rune.ToString());
    }

    // Unicode §3.12: a syllable S decomposes into leading L, vowel V and, unless S % 28 == 0, trailing T.
    static bool TryAppendHangul(int cp, StringBuilder output)
    {
        const int First = 0xAC00, Count = 11172, LeadBase = 0x1100, VowelBase = 0x1161, TrailBase = 0x11A7;
        int s = cp - First;
        if (s is < 0 or >= Count)
            return false;
        output.Append((char)(LeadBase + s / 588)).Append((char)(VowelBase + s % 588 / 28));
        if (s % 28 != 0)
            output.Append((char)(TrailBase + s % 28));
        return true;
    }

    static Dictionary<int, string> LoadTable()
    {
        using Stream stream = typeof(AccentFolding).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded resource {ResourceName} is missing from VbLoraOrt.Runtime.");
        using var reader = new StreamReader(stream);
        var table = new Dictionary<int, string>();
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] == '#')
                continue;
            int tab = line.IndexOf('\t');
            var folded = new StringBuilder();
            foreach (string hex in line[(tab + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
                folded.Append(char.ConvertFromUtf32(int.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
            table[int.Parse(line.AsSpan(0, tab), NumberStyles.HexNumber, CultureInfo.InvariantCulture)] = folded.ToString();
        }
        return table;
    }
}
