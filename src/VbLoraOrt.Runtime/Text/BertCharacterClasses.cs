using System.Globalization;
using System.Text;

namespace VbLoraOrt.Runtime.Text;

/// <summary>
/// The character classes of Hugging Face's BERT basic tokenizer (BertNormalizer + BertPreTokenizer), decided
/// per code point so that characters outside the BMP (emoji, CJK extension B…) are classified as one character.
/// </summary>
internal static class BertCharacterClasses
{
    /// <summary>Removed by text cleaning: NUL, U+FFFD and every "C*" category except tab, newline, carriage return.</summary>
    public static bool IsRemoved(Rune rune)
    {
        if (rune.Value is 0 or 0xFFFD)
            return true;
        if (rune.Value is '\t' or '\n' or '\r')
            return false;
        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
    }

    /// <summary>Becomes a plain space: space, tab, newline, carriage return, and the Zs/Zl/Zp categories.</summary>
    public static bool IsWhitespace(Rune rune) =>
        rune.Value is ' ' or '\t' or '\n' or '\r'
        || Rune.GetUnicodeCategory(rune) is UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator
            or UnicodeCategory.ParagraphSeparator;

    /// <summary>
    /// A token on its own: every ASCII non-alphanumeric printable (33–47, 58–64, 91–96, 123–126, so also the
    /// symbols <c>$+&lt;=&gt;^`|~</c>) and every Unicode "P*" category. Other symbols (emoji, ©, €) are not.
    /// </summary>
    public static bool IsPunctuation(Rune rune)
    {
        int cp = rune.Value;
        if (cp is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126)
            return true;
        return Rune.GetUnicodeCategory(rune) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation
            or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation
            or UnicodeCategory.OtherPunctuation;
    }

    /// <summary>A CJK ideograph (the blocks BERT tokenizes one character at a time; not Hangul, kana or symbols).</summary>
    public static bool IsCjkIdeograph(Rune rune) => rune.Value is
        >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF
        or >= 0x2A700 and <= 0x2B73F or >= 0x2B740 and <= 0x2B81F or >= 0x2B820 and <= 0x2CEAF
        or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;
}
