using VbLoraOrt.Runtime.Text;

namespace VbLoraOrt.Runtime.Data;

/// <summary>A dataset tokenized once (truncated to the batch options' maximum length), ready to batch every epoch.</summary>
public sealed class EncodedDataset
{
    readonly EncodedText[] _first;
    readonly EncodedText[]? _second;
    readonly TextDataset? _text;
    readonly int _padId;

    EncodedDataset(EncodedText[] first, EncodedText[]? second, TextDataset? text, int padId)
    {
        _first = first;
        _second = second;
        _text = text;
        _padId = padId;
    }

    /// <summary>Number of examples.</summary>
    public int Count => _first.Length;

    /// <summary>Tokenizes a classification or regression dataset (text and optional text pair in one sequence).</summary>
    public static EncodedDataset Encode(TextDataset data, BertTextTokenizer tokenizer, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(tokenizer);
        EncodedText[] encoded = data.Examples.Select(e => tokenizer.Encode(e.Text, e.TextPair, maxLength)).ToArray();
        return new EncodedDataset(encoded, null, data, tokenizer.PaddingTokenId);
    }

    /// <summary>Tokenizes an embedding dataset (anchor and positive as separate sequences).</summary>
    public static EncodedDataset Encode(PairDataset data, BertTextTokenizer tokenizer, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(tokenizer);
        EncodedText[] anchors = data.Examples.Select(e => tokenizer.Encode(e.Anchor, null, maxLength)).ToArray();
        EncodedText[] positives = data.Examples.Select(e => tokenizer.Encode(e.Positive, null, maxLength)).ToArray();
        return new EncodedDataset(anchors, positives, null, tokenizer.PaddingTokenId);
    }

    /// <summary>The batches of one epoch of a classification or regression dataset.</summary>
    public IEnumerable<TextBatch> TextBatches(BatchOptions options, int epoch)
    {
        TextDataset text = _text ?? throw new InvalidOperationException("This is an embedding dataset; use PairBatches.");
        foreach (int[] rows in BatchPlanner.Plan(Lengths(), options, epoch))
        {
            TokenBatch tokens = TokenBatch.Pad(Pick(_first, rows), SequenceLength(options, _first, rows), _padId);
            yield return text.Kind == LabelKind.Class
                ? new TextBatch(tokens, rows.Select(i => (long)text.Examples[i].Label).ToArray(), null, rows)
                : new TextBatch(tokens, null, rows.Select(i => (float)text.Examples[i].Label).ToArray(), rows);
        }
    }

    /// <summary>The batches of one epoch of an embedding dataset; bucketing uses the longer of anchor and positive.</summary>
    public IEnumerable<PairBatch> PairBatches(BatchOptions options, int epoch)
    {
        EncodedText[] second = _second ?? throw new InvalidOperationException("This is a classification/regression dataset; use TextBatches.");
        foreach (int[] rows in BatchPlanner.Plan(Lengths(), options, epoch))
            yield return new PairBatch(
                TokenBatch.Pad(Pick(_first, rows), SequenceLength(options, _first, rows), _padId),
                TokenBatch.Pad(Pick(second, rows), SequenceLength(options, second, rows), _padId),
                rows);
    }

    int[] Lengths() =>
        _second is null ? _first.Select(e => e.Length).ToArray() : _first.Select((e, i) => Math.Max(e.Length, _second[i].Length)).ToArray();

    static EncodedText[] Pick(EncodedText[] all, int[] rows) => rows.Select(i => all[i]).ToArray();

    static int SequenceLength(BatchOptions options, EncodedText[] all, int[] rows) =>
        options.Padding == PaddingMode.MaxLength ? Math.Max(options.MaxLength, rows.Max(i => all[i].Length)) : rows.Max(i => all[i].Length);
}
