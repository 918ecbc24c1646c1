using System.Globalization;
using System.Text;

namespace VbLoraOrt.Tests.Text;

/// <summary>
/// An independent, from-the-specification BERT tokenizer (Hugging Face BasicTokenizer + WordPiece), written
/// plainly and slowly to check the product's Microsoft.ML.Tokenizers-based one. It splits special tokens out of
/// the raw text first (as Hugging Face does), and strips accents with a hand-written decomposition map for the
/// characters the tests use, since NFD is unavailable under invariant globalization.
/// </summary>
internal sealed class ReferenceBertTokenizer
{
    static readonly string[] Specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

    /// <summary>Canonical decomposition, marks already dropped, of every precomposed letter the tests use.</summary>
    public static readonly Dictionary<char, string> Decompositions = new()
    {
        ['é'] = "e", ['É'] = "E", ['è'] = "e", ['ê'] = "e", ['ë'] = "e", ['ï'] = "i", ['î'] = "i", ['à'] = "a",
        ['â'] = "a", ['ä'] = "a", ['Å'] = "A", ['å'] = "a", ['ñ'] = "n", ['Ñ'] = "N", ['ö'] = "o", ['ô'] = "o",
        ['ü'] = "u", ['Ü'] = "U", ['ç'] = "c", ['Ç'] = "C", ['ß'] = "ß", ['İ'] = "I", ['ά'] = "α", ['Ό'] = "Ο",
        ['í'] = "i", ['ú'] = "u", ['ó'] = "o", ['Ö'] = "O", ['ό'] = "ο", ['が'] = "か", ['й'] = "и", ['Ё'] = "Е", ['\u212B'] = "A",
        // Japanese voiced marks are non-spacing marks too: Hugging Face turns が into か.
        // Hangul syllables -> conjoining jamo (Unicode §3.12): 한 = ᄒ ᅡ ᆫ, 국 = ᄀ ᅮ ᆨ, 어 = ᄋ ᅥ.
        ['한'] = "\u1112\u1161\u11AB", ['국'] = "\u1100\u116E\u11A8", ['어'] = "\u110B\u1165",
    };

    readonly Dictionary<string, int> _vocab = new(StringComparer.Ordinal);
    readonly bool _lowerCase;

    public ReferenceBertTokenizer(string vocabPath, bool lowerCase)
    {
        string[] lines = File.ReadAllLines(vocabPath);
        for (int id = 0; id < lines.Length; id++)
            _vocab.TryAdd(lines[id], id);
        _lowerCase = lowerCase;
    }

    public List<int> Tokenize(string text)
    {
        var ids = new List<int>();
        foreach (string piece in SplitOnSpecials(text))
        {
            if (Specials.Contains(piece))
                ids.Add(_vocab[piece]);
            else
                foreach (string word in BasicTokenize(piece))
                    ids.AddRange(WordPiece(word));
        }
        return ids;
    }

    static IEnumerable<string> SplitOnSpecials(string text)
    {
        int start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            string? special = Specials.FirstOrDefault(s => string.CompareOrdinal(text, i, s, 0, s.Length) == 0);
            if (special is null)
                continue;
            yield return text[start..i];
            yield return special;
            i += special.Length - 1;
            start = i + 1;
        }
        yield return text[start..];
    }

    List<string> BasicTokenize(string text)
    {
        var cleaned = new StringBuilder();
        foreach (Rune r in text.EnumerateRunes())
        {
            UnicodeCategory cat = Rune.GetUnicodeCategory(r);
            bool whitespace = r.Value is ' ' or '\t' or '\n' or '\r' || cat is UnicodeCategory.SpaceSeparator
                or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
            bool control = !whitespace && cat.ToString() is "Control" or "Format" or "Surrogate" or "PrivateUse" or "OtherNotAssigned";
            if (r.Value == 0 || r.Value == 0xFFFD || control)
                continue;
            if (whitespace)
                cleaned.Append(' ');
            else if (IsCjk(r.Value))
                cleaned.Append(' ').Append(r.ToString()).Append(' ');
            else
                cleaned.Append(r.ToString());
        }
        var words = new List<string>();
        foreach (string token in cleaned.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            string t = _lowerCase ? StripAccents(token).ToLowerInvariant() : token;
            var current = new StringBuilder();
            foreach (Rune r in t.EnumerateRunes())
            {
                if (IsPunctuation(r))
                {
                    if (current.Length > 0)
                        words.Add(current.ToString());
                    current.Clear();
                    words.Add(r.ToString());
                }
                else
                    current.Append(r.ToString());
            }
            if (current.Length > 0)
                words.Add(current.ToString());
        }
        return words;
    }

    static string StripAccents(string token)
    {
        var output = new StringBuilder();
        foreach (char c in token)
        {
            string d = Decompositions.TryGetValue(c, out string? folded) ? folded : c.ToString();
            foreach (char x in d)
                if (CharUnicodeInfo.GetUnicodeCategory(x) != UnicodeCategory.NonSpacingMark)
                    output.Append(x);
        }
        return output.ToString();
    }

    static bool IsPunctuation(Rune r)
    {
        int cp = r.Value;
        if (cp is >= 33 and <= 47 || cp is >= 58 and <= 64 || cp is >= 91 and <= 96 || cp is >= 123 and <= 126)
            return true;
        return Rune.GetUnicodeCategory(r).ToString().EndsWith("Punctuation", StringComparison.Ordinal);
    }

    static bool IsCjk(int cp) =>
        (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
        || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF)
        || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);

    List<int> WordPiece(string word)
    {
        int unk = _vocab["[UNK]"];
        int[] codePoints = word.EnumerateRunes().Select(r => r.Value).ToArray();
        if (codePoints.Length > 100)
            return [unk];
        var pieces = new List<int>();
        int start = 0;
        while (start < codePoints.Length)
        {
            int end = codePoints.Length, found = -1;
            while (start < end)
            {
                string sub = string.Concat(codePoints[start..end].Select(char.ConvertFromUtf32));
                if (start > 0)
                    sub = "##" + sub;
                if (_vocab.TryGetValue(sub, out found))
                    break;
                found = -1;
                end--;
            }
            if (found < 0)
                return [unk];
            pieces.Add(found);
            start = end;
        }
        return pieces;
    }
}
