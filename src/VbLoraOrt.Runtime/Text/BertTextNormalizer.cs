using System.Text;
using Microsoft.ML.Tokenizers;

namespace VbLoraOrt.Runtime.Text;

/// <summary>
/// Hugging Face's BertNormalizer, in its order: clean the text (drop control characters, every whitespace
/// becomes a space), put spaces around CJK ideographs, then for uncased models strip accents and lower-case.
/// </summary>
/// <remarks>
/// Special tokens written in the text with their exact spelling (<c>[CLS]</c>, <c>[SEP]</c>…) pass through
/// unchanged and space-separated, as Hugging Face matches them on the raw text before normalizing; the
/// <see cref="BertWordSplitter"/> keeps them whole.
/// </remarks>
internal sealed class BertTextNormalizer(bool lowerCase, IReadOnlyList<string> specialTokens) : Normalizer
{
    /// <inheritdoc/>
    public override string Normalize(string original) => Normalize(original.AsSpan());

    /// <inheritdoc/>
    public override string Normalize(ReadOnlySpan<char> original)
    {
        var output = new StringBuilder(original.Length + 8);
        int index = 0;
        while (index < original.Length)
        {
            if (original[index] == '[' && SpecialTokenAt(original[index..]) is { } special)
            {
                output.Append(' ').Append(special).Append(' ');
                index += special.Length;
                continue;
            }
            Rune.DecodeFromUtf16(original[index..], out Rune rune, out int consumed);
            index += consumed;
            AppendNormalized(rune, output);
        }
        return output.ToString();
    }

    /// <summary>The special token spelled exactly at the start of <paramref name="text"/>, or null.</summary>
    internal string? SpecialTokenAt(ReadOnlySpan<char> text)
    {
        foreach (string token in specialTokens)
            if (text.StartsWith(token, StringComparison.Ordinal))
                return token;
        return null;
    }

    void AppendNormalized(Rune rune, StringBuilder output)
    {
        if (BertCharacterClasses.IsRemoved(rune))
            return;
        if (BertCharacterClasses.IsWhitespace(rune))
        {
            output.Append(' ');
            return;
        }
        if (BertCharacterClasses.IsCjkIdeograph(rune))
        {
            output.Append(' ').Append(rune.ToString()).Append(' ');
            return;
        }
        if (!lowerCase)
        {
            output.Append(rune.ToString());
            return;
        }
        int start = output.Length;
        AccentFolding.AppendFolded(rune, output);
        LowerCaseFrom(output, start);
    }

    // Per code point, so that letters outside the BMP (e.g. Deseret) are lower-cased too.
    static void LowerCaseFrom(StringBuilder output, int start)
    {
        string folded = output.ToString(start, output.Length - start);
        output.Length = start;
        foreach (Rune folding in folded.EnumerateRunes())
            output.Append(Rune.ToLowerInvariant(folding).ToString());
    }
}
