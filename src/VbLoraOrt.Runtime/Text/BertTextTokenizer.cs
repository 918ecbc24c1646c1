using Microsoft.ML.Tokenizers;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Runtime.Text;

/// <summary>
/// BERT WordPiece tokenization giving the same ids as Hugging Face's tokenizer for the model (the fast
/// <c>BertTokenizerFast</c>: BertNormalizer, BertPreTokenizer, WordPiece, BERT post-processing).
/// </summary>
/// <remarks>
/// <para>WordPiece (greedy longest match, <c>##</c> continuations, words over 100 characters become
/// <c>[UNK]</c>) is Microsoft.ML.Tokenizers' <see cref="BertTokenizer"/>. Its own basic tokenization is
/// replaced, because with default options it keeps accents and drops ASCII symbols and emoji
/// (<c>a+b&lt;c&gt;d</c> loses <c>+ &lt; &gt;</c>), and its accent removal relies on
/// <see cref="string.Normalize()"/>, which does nothing under invariant globalization.</para>
/// <para>Known differences from Hugging Face: the slow Python tokenizer lower-cases a final capital sigma
/// to ς (the fast one, matched here, gives σ); combining marks are not canonically reordered (see
/// <see cref="AccentFolding"/>); character categories follow .NET's Unicode version.</para>
/// </remarks>
public sealed class BertTextTokenizer
{
    static readonly string[] SpecialTokens = [.. VbLoraOrt.Contracts.Artifacts.WordPieceSpecialTokens.All];

    readonly BertTokenizer _wordPiece;

    BertTextTokenizer(BertTokenizer wordPiece, bool lowerCase, int vocabularySize)
    {
        _wordPiece = wordPiece;
        LowerCase = lowerCase;
        VocabularySize = vocabularySize;
    }

    /// <summary>Whether text is lower-cased and stripped of accents (uncased models).</summary>
    public bool LowerCase { get; }

    /// <summary>Id of <c>[CLS]</c>, the first token of every example.</summary>
    public int ClassificationTokenId => _wordPiece.ClassificationTokenId;

    /// <summary>Id of <c>[SEP]</c>, which ends the text and the pair.</summary>
    public int SeparatorTokenId => _wordPiece.SeparatorTokenId;

    /// <summary>Id of <c>[PAD]</c>, used to fill batches.</summary>
    public int PaddingTokenId => _wordPiece.PaddingTokenId;

    /// <summary>Id of <c>[UNK]</c>, given to words the vocabulary cannot spell.</summary>
    public int UnknownTokenId => _wordPiece.UnknownTokenId;

    /// <summary>Number of entries in the vocabulary.</summary>
    public int VocabularySize { get; }

    /// <summary>Largest vocabulary file accepted (BERT vocabularies are under 1 MiB; multilingual ones a few MiB).</summary>
    public const long MaxVocabBytes = 64 << 20;

    /// <summary>Loads a BERT <c>vocab.txt</c> (one token per line, id = line number; LF or CRLF).</summary>
    /// <param name="vocabPath">Path of the vocabulary file.</param>
    /// <param name="lowerCase">True for uncased models (lower-case and strip accents), false for cased ones.</param>
    /// <exception cref="BadInputException">The file is too large, not UTF-8, or lacks a special token; the message names it.</exception>
    public static BertTextTokenizer Load(string vocabPath, bool lowerCase = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(vocabPath);
        if (!File.Exists(vocabPath))
            throw new FileNotFoundException($"BERT vocabulary {vocabPath} does not exist; pass the model's vocab.txt.", vocabPath);
        using FileStream stream = File.OpenRead(vocabPath);
        return Load(stream, lowerCase, vocabPath);
    }

    /// <summary>Loads a BERT <c>vocab.txt</c> from a stream (left open).</summary>
    /// <param name="vocab">The vocabulary: one token per line, id = line number.</param>
    /// <param name="lowerCase">True for uncased models (lower-case and strip accents), false for cased ones.</param>
    /// <exception cref="BadInputException">The vocabulary is too large, not UTF-8, or lacks a special token.</exception>
    public static BertTextTokenizer Load(Stream vocab, bool lowerCase = true) => Load(vocab, lowerCase, "vocabulary stream");

    static BertTextTokenizer Load(Stream vocab, bool lowerCase, string displayName)
    {
        ArgumentNullException.ThrowIfNull(vocab);
        var buffered = new MemoryStream();
        byte[] chunk = new byte[1 << 16];
        for (int read; (read = vocab.Read(chunk)) > 0;)
        {
            if (buffered.Length + read > MaxVocabBytes)
                throw new BadInputException($"{displayName}: vocabulary larger than {MaxVocabBytes} bytes; this is not a BERT vocab.txt.");
            buffered.Write(chunk, 0, read);
        }
        if (!System.Text.Unicode.Utf8.IsValid(buffered.GetBuffer().AsSpan(0, (int)buffered.Length)))
            throw new BadInputException($"{displayName}: vocabulary is not valid UTF-8; pass the model's vocab.txt.");
        var tokens = ReadLines(buffered);
        var missing = SpecialTokens.Where(t => !tokens.Contains(t)).ToList();
        if (missing.Count > 0)
            throw new BadInputException(VbLoraOrt.Contracts.Artifacts.WordPieceSpecialTokens.Lacking(displayName, missing));
        var duplicate = tokens.GroupBy(t => t, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new BadInputException($"{displayName}: vocabulary lists token '{duplicate.Key}' more than once; each line must be a distinct token.");
        buffered.Position = 0;
        var normalizer = new BertTextNormalizer(lowerCase, SpecialTokens);
        var options = new BertOptions
        {
            Normalizer = normalizer,
            PreTokenizer = new BertWordSplitter(normalizer),
            // Our normalizer and splitter do the basic tokenization and keep special tokens whole; the
            // library's special-token splitting would add lower-cased aliases to the vocabulary.
            ApplyBasicTokenization = false,
            SplitOnSpecialTokens = false,
            LowerCaseBeforeTokenization = lowerCase,
        };
        return new BertTextTokenizer(BertTokenizer.Create(buffered, options), lowerCase, tokens.Count);
    }

    static List<string> ReadLines(MemoryStream vocab)
    {
        vocab.Position = 0;
        using var reader = new StreamReader(vocab, leaveOpen: true);
        var lines = new List<string>();
        while (reader.ReadLine() is { } line)
            lines.Add(line);
        return lines;
    }

    /// <summary>Token ids of <paramref name="text"/> alone: no special tokens, no truncation.</summary>
    public IReadOnlyList<int> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return _wordPiece.EncodeToIds(text, addSpecialTokens: false);
    }

    /// <summary>
    /// Encodes <c>[CLS] text [SEP]</c>, or <c>[CLS] text [SEP] textPair [SEP]</c>, truncated to
    /// <paramref name="maxLength"/> tokens including the special ones. A pair is truncated longest-first as
    /// Hugging Face does: only the longer side is cut while that suffices; otherwise both get half the budget,
    /// the longer side the odd token.
    /// </summary>
    /// <param name="text">The text (first segment).</param>
    /// <param name="textPair">Optional second segment, with token type 1.</param>
    /// <param name="maxLength">Maximum tokens: at least 2 for a text, 3 for a pair.</param>
    public EncodedText Encode(string text, string? textPair = null, int maxLength = 512)
    {
        ArgumentNullException.ThrowIfNull(text);
        int specials = textPair is null ? 2 : 3;
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, specials);
        IReadOnlyList<int> first = Tokenize(text);
        IReadOnlyList<int> second = textPair is null ? [] : Tokenize(textPair);
        (int firstKept, int secondKept) = textPair is null
            ? (Math.Min(first.Count, maxLength - specials), 0)
            : LongestFirst(first.Count, second.Count, maxLength - specials);

        int length = firstKept + secondKept + specials;
        var ids = new int[length];
        var typeIds = new int[length];
        int at = 0;
        ids[at++] = ClassificationTokenId;
        for (int i = 0; i < firstKept; i++)
            ids[at++] = first[i];
        ids[at++] = SeparatorTokenId;
        if (textPair is not null)
        {
            for (int i = 0; i < secondKept; i++)
                (ids[at], typeIds[at++]) = (second[i], 1);
            (ids[at], typeIds[at]) = (SeparatorTokenId, 1);
        }
        return new EncodedText(ids, typeIds);
    }

    // Hugging Face tokenizers' TruncationStrategy::LongestFirst for a pair with `budget` non-special tokens.
    static (int First, int Second) LongestFirst(int first, int second, int budget)
    {
        if (first + second <= budget)
            return (first, second);
        int shorter = Math.Min(first, second);
        int longer = shorter > budget ? shorter : Math.Max(shorter, budget - shorter);
        if (shorter + longer > budget)
            (shorter, longer) = (budget / 2, budget / 2 + budget % 2);
        return first > second ? (longer, shorter) : (shorter, longer);
    }
}
