namespace VbLoraOrt.Contracts.Artifacts;

/// <summary>
/// The special tokens a BERT WordPiece <c>vocab.txt</c> must hold for the runner to encode text (DESIGN.md §3.3):
/// checked by <c>prepare</c> when it copies a vocabulary and by the runner's tokenizer when it loads one.
/// </summary>
public static class WordPieceSpecialTokens
{
    /// <summary>Padding, unknown word, sequence start, separator, mask.</summary>
    public static IReadOnlyList<string> All { get; } = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

    /// <summary>The message for a vocabulary lacking <paramref name="missing"/>.</summary>
    public static string Lacking(string displayName, IReadOnlyList<string> missing) =>
        $"{displayName}: vocabulary lacks the special token{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing)}; pass the model's BERT vocab.txt.";
}
