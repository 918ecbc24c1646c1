namespace VbLoraOrt.Runtime.Text;

/// <summary>
/// One tokenized example as the model takes it: <c>[CLS] text [SEP]</c> or <c>[CLS] text [SEP] pair [SEP]</c>,
/// already truncated, not padded.
/// </summary>
public sealed class EncodedText
{
    /// <summary>Creates an encoded example; the two arrays must have the same length.</summary>
    public EncodedText(int[] ids, int[] typeIds)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(typeIds);
        if (ids.Length != typeIds.Length)
            throw new ArgumentException($"{ids.Length} token ids but {typeIds.Length} token type ids.", nameof(typeIds));
        Ids = ids;
        TypeIds = typeIds;
    }

    /// <summary>Vocabulary ids, special tokens included.</summary>
    public int[] Ids { get; }

    /// <summary>Segment of each token: 0 for <c>[CLS]</c>, the text and its <c>[SEP]</c>; 1 for the pair and its <c>[SEP]</c>.</summary>
    public int[] TypeIds { get; }

    /// <summary>Number of tokens.</summary>
    public int Length => Ids.Length;
}
