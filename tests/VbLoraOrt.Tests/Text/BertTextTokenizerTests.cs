using System.Text;
using VbLoraOrt.Runtime.Text;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Text;

[TestClass]
public sealed class BertTextTokenizerTests
{
    static readonly Lazy<BertTextTokenizer> Uncased = new(() => BertTextTokenizer.Load(RealModel.VocabPath));
    static readonly Lazy<ReferenceBertTokenizer> Reference = new(() => new ReferenceBertTokenizer(RealModel.VocabPath, lowerCase: true));

    static int[] Ids(string text, string? pair = null, int maxLength = 512) => Uncased.Value.Encode(text, pair, maxLength).Ids;

    [TestMethod]
    public void Encode_WhenAsciiSymbols_GivesEachItsOwnToken()
    {
        // Ids from Hugging Face's tokenizer for all-MiniLM-L6-v2: '=' 1027, '+' 1009, '<' 1026, '>' 1028.
        CollectionAssert.AreEqual(new[] { 101, 8909, 1027, 4413, 1037, 1009, 1038, 1026, 1039, 1028, 1040, 102 }, Ids("id=42 a+b<c>d"));
    }

    [TestMethod]
    public void Encode_WhenAccentsCjkAndEmoji_StripsSplitsAndGivesUnknown()
    {
        CollectionAssert.AreEqual(new[] { 101, 15743, 7668, 13746, 1879, 1755, 100, 102 }, Ids("naïve café résumé 東京 🙂"));
    }

    [TestMethod]
    public void Encode_WhenAccentWrittenAsCombiningMark_MatchesPrecomposed()
    {
        CollectionAssert.AreEqual(Ids("naïve café"), Ids("nai\u0308ve cafe\u0301"));
    }

    [TestMethod]
    public void Encode_WhenRealSentences_MatchesHuggingFaceIds()
    {
        string[] sentences =
        [
            "The cat sat on the mat.", "This is a test sentence.", "You won a FREE trip! Call now!",
            "The meeting is moved to Thursday.", "Check out this great deal.", "Let's get lunch tomorrow.",
            "The sky is blue.", "Thank you for your help.",
        ];
        for (int i = 0; i < sentences.Length; i++)
            CollectionAssert.AreEqual(RealModel.EightSentences[i].Select(id => (int)id).ToArray(), Ids(sentences[i]), sentences[i]);
    }

    [TestMethod]
    public void Encode_WhenControlCharactersAndUnusualSpaces_DropsAndSplitsLikeWhitespace()
    {
        // NUL, BEL, zero-width space (Cf), BOM (Cf) vanish; no-break, ideographic and line separators split.
        CollectionAssert.AreEqual(Ids("hello world free trip"), Ids("hel\u0000lo\u0007 wor\u200Bld\uFEFF\u00A0free\u3000\u2028trip"));
    }

    [TestMethod]
    public void Encode_WhenSpecialTokenSpelledExactly_KeepsItWhole()
    {
        int[] ids = Ids("a [SEP] b[MASK]");
        CollectionAssert.AreEqual(new[] { 101, 1037, 102, 1038, 103, 102 }, ids);
        Assert.AreNotEqual(102, Ids("a [sep] b")[2], "lower-case spelling is ordinary text, as in Hugging Face");
    }

    [TestMethod]
    public void Encode_WhenWordLongerThan100Characters_GivesUnknown()
    {
        CollectionAssert.AreEqual(new[] { 101, 100, 102 }, Ids(new string('a', 101)));
        Assert.AreNotEqual(100, Ids(new string('a', 100))[1]);
    }

    [TestMethod]
    public void Encode_WhenTextLongerThanMaxLength_KeepsFirstTokensAndSeparator()
    {
        int[] ids = Ids("a b c d e f", maxLength: 5);
        CollectionAssert.AreEqual(new[] { 101, 1037, 1038, 1039, 102 }, ids);
    }

    [TestMethod]
    public void Encode_WhenPair_SetsTypeIdsAndTruncatesLongerSideFirst()
    {
        // budget 6 = 9 - 3 specials; the pair (3 tokens) fits, the text (6) is cut to the remaining 3.
        EncodedText encoded = Uncased.Value.Encode("a a a a a a", "b b b", maxLength: 9);
        CollectionAssert.AreEqual(new[] { 101, 1037, 1037, 1037, 102, 1038, 1038, 1038, 102 }, encoded.Ids);
        CollectionAssert.AreEqual(new[] { 0, 0, 0, 0, 0, 1, 1, 1, 1 }, encoded.TypeIds);
    }

    [TestMethod]
    public void Encode_WhenPairBothTooLong_SplitsBudgetWithOddTokenToSecond()
    {
        // Hugging Face LongestFirst: equal lengths 5 and 5, budget 5 -> 2 and 3.
        int[] ids = Ids("a a a a a", "b b b b b", maxLength: 8);
        CollectionAssert.AreEqual(new[] { 101, 1037, 1037, 102, 1038, 1038, 1038, 102 }, ids);
    }

    [TestMethod]
    public void Encode_WhenMaxLengthBelowSpecialTokens_Throws()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Uncased.Value.Encode("a", "b", maxLength: 2));
    }

    [TestMethod]
    public void Load_WhenVocabularyHasCrLfLines_ReadsAllEntries()
    {
        Assert.AreEqual(30522, Uncased.Value.VocabularySize);
        Assert.AreEqual(0, Uncased.Value.PaddingTokenId);
        Assert.AreEqual(100, Uncased.Value.UnknownTokenId);
    }

    [TestMethod]
    public void Load_WhenVocabularyMissing_ThrowsNamingPath()
    {
        var e = Assert.ThrowsExactly<FileNotFoundException>(() => BertTextTokenizer.Load("/nonexistent/vocab.txt"));
        StringAssert.Contains(e.Message, "/nonexistent/vocab.txt");
    }

    [TestMethod]
    public void Tokenize_WhenRandomEmailLikeText_MatchesReferenceImplementation()
    {
        var random = new Random(20240611);
        for (int i = 0; i < 3000; i++)
        {
            string text = RandomEmailText(random);
            CollectionAssert.AreEqual(Reference.Value.Tokenize(text), Uncased.Value.Tokenize(text).ToList(), Escape(text));
        }
    }

    [TestMethod]
    public void Tokenize_WhenCased_KeepsCaseAndAccentsLikeReference()
    {
        var cased = BertTextTokenizer.Load(RealModel.VocabPath, lowerCase: false);
        var reference = new ReferenceBertTokenizer(RealModel.VocabPath, lowerCase: false);
        var random = new Random(7);
        for (int i = 0; i < 500; i++)
        {
            string text = RandomEmailText(random);
            CollectionAssert.AreEqual(reference.Tokenize(text), cased.Tokenize(text).ToList(), Escape(text));
        }
        CollectionAssert.AreNotEqual(Uncased.Value.Tokenize("Café").ToList(), cased.Tokenize("Café").ToList());
    }

    static readonly string[] Fragments =
    [
        "Hello", "FREE", "unsubscribe", "Click", "here", "naïve", "café", "Résumé", "ÉCOLE", "Ñandú", "Über", "Ça",
        "straße", "İstanbul", "ÅNGSTRÖM", "\u212Bngstrom", "ά", "Όμηρος", "ΣΑΣ", "Ёлка", "йогурт", "Привет", "한국어",
        "東京", "中文字", "カタカナ", "ひらがな", "🙂", "🚀🚀", "€100", "£5", "¥", "©2002", "®", "™", "°C", "½",
        "http://www.example.com/a?b=c&d=e#f", "<john.doe@example.org>", "=3D", "=\n", "=20", "<html><body>",
        "</p>", "&nbsp;", "$$$", "100%", "#1", "@home", "a+b", "x^2", "`code`", "~user", "|pipe|", "\\path\\",
        "{json: [1, 2]}", "\"quoted\"", "'single'", "«guillemets»", "“curly”", "—dash–", "…", "¿qué?", "¡sí!",
        "[CLS]", "[SEP]", "[cls]", "[MASK]x", "[UNK", "nai\u0308ve", "e\u0301", "\u0301", "\u200B", "\uFEFF",
        "\u0000", "\u0007", "\u00AD", "\uFFFD", "\uE000", "12:30", "3.14", "1,000", "don't", "e-mail", "re:",
        new string('x', 101), new string('y', 100), "supercalifragilisticexpialidocious", "deoxyribonucleic",
    ];

    static readonly string[] Separators = [" ", "", "\t", "\n", "\r\n", "  ", "\u00A0", "\u3000", "\u2028", ".", ","];

    static string RandomEmailText(Random random)
    {
        var text = new StringBuilder();
        int count = random.Next(1, 12);
        for (int j = 0; j < count; j++)
            text.Append(Fragments[random.Next(Fragments.Length)]).Append(Separators[random.Next(Separators.Length)]);
        return text.ToString();
    }

    static string Escape(string text) =>
        string.Concat(text.Select(c => c < 32 || c > 126 ? $"\\u{(int)c:X4}" : c.ToString()));
}
