using System.Text;
using Microsoft.ML.Tokenizers;

namespace VbLoraOrt.Runtime.Text;

/// <summary>
/// Hugging Face's BertPreTokenizer on normalized text: words end at whitespace, and every punctuation
/// character (<see cref="BertCharacterClasses.IsPunctuation"/>) is a word of its own. Special tokens the
/// <see cref="BertTextNormalizer"/> passed through stay whole.
/// </summary>
internal sealed class BertWordSplitter(BertTextNormalizer normalizer) : PreTokenizer
{
    /// <inheritdoc/>
    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) =>
        text is null ? throw new ArgumentNullException(nameof(text)) : Split(text.AsSpan());

    /// <inheritdoc/>
    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => Split(text);

    List<(int Offset, int Length)> Split(ReadOnlySpan<char> text)
    {
        var words = new List<(int Offset, int Length)>();
        int wordStart = -1, index = 0;
        while (index < text.Length)
        {
            if (text[index] == '[' && normalizer.SpecialTokenAt(text[index..]) is { } special)
            {
                EndWord(words, ref wordStart, index);
                words.Add((index, special.Length));
                index += special.Length;
                continue;
            }
            Rune.DecodeFromUtf16(text[index..], out Rune rune, out int consumed);
            if (BertCharacterClasses.IsWhitespace(rune))
                EndWord(words, ref wordStart, index);
            else if (BertCharacterClasses.IsPunctuation(rune))
            {
                EndWord(words, ref wordStart, index);
                words.Add((index, consumed));
            }
            else if (wordStart < 0)
                wordStart = index;
            index += consumed;
        }
        EndWord(words, ref wordStart, text.Length);
        return words;
    }

    static void EndWord(List<(int Offset, int Length)> words, ref int wordStart, int end)
    {
        if (wordStart >= 0)
            words.Add((wordStart, end - wordStart));
        wordStart = -1;
    }
}
