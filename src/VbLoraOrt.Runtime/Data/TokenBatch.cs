using VbLoraOrt.Runtime.Text;

namespace VbLoraOrt.Runtime.Data;

/// <summary>
/// Model inputs for one batch, row-major int64 <c>[BatchSize, SequenceLength]</c>: <see cref="InputIds"/>,
/// <see cref="AttentionMask"/> (1 for tokens, 0 for padding) and <see cref="TokenTypeIds"/>.
/// </summary>
public sealed class TokenBatch
{
    TokenBatch(int batchSize, int sequenceLength)
    {
        BatchSize = batchSize;
        SequenceLength = sequenceLength;
        InputIds = new long[batchSize * sequenceLength];
        AttentionMask = new long[batchSize * sequenceLength];
        TokenTypeIds = new long[batchSize * sequenceLength];
    }

    /// <summary>Rows in the batch.</summary>
    public int BatchSize { get; }

    /// <summary>Padded sequence length.</summary>
    public int SequenceLength { get; }

    /// <summary>Token ids, <c>[BatchSize, SequenceLength]</c>, padding with the pad id.</summary>
    public long[] InputIds { get; }

    /// <summary>1 where there is a token, 0 where there is padding.</summary>
    public long[] AttentionMask { get; }

    /// <summary>Segment ids; 0 on padding.</summary>
    public long[] TokenTypeIds { get; }

    /// <summary>Shape of each array: <c>[BatchSize, SequenceLength]</c>.</summary>
    public long[] Shape => [BatchSize, SequenceLength];

    /// <summary>Pads <paramref name="rows"/> to <paramref name="sequenceLength"/> (at least the longest row).</summary>
    public static TokenBatch Pad(IReadOnlyList<EncodedText> rows, int sequenceLength, int padId)
    {
        ArgumentNullException.ThrowIfNull(rows);
        int longest = rows.Count == 0 ? 0 : rows.Max(r => r.Length);
        if (sequenceLength < longest)
            throw new ArgumentOutOfRangeException(nameof(sequenceLength), sequenceLength, $"shorter than the longest row ({longest} tokens)");
        var batch = new TokenBatch(rows.Count, sequenceLength);
        for (int b = 0; b < rows.Count; b++)
        {
            Span<long> ids = batch.InputIds.AsSpan(b * sequenceLength, sequenceLength);
            ids.Fill(padId);
            EncodedText row = rows[b];
            for (int s = 0; s < row.Length; s++)
            {
                ids[s] = row.Ids[s];
                batch.AttentionMask[b * sequenceLength + s] = 1;
                batch.TokenTypeIds[b * sequenceLength + s] = row.TypeIds[s];
            }
        }
        return batch;
    }

    /// <summary>Rows of <paramref name="top"/> then <paramref name="bottom"/>, padded to the longer sequence.</summary>
    public static TokenBatch Stack(TokenBatch top, TokenBatch bottom, int padId)
    {
        ArgumentNullException.ThrowIfNull(top);
        ArgumentNullException.ThrowIfNull(bottom);
        var batch = new TokenBatch(top.BatchSize + bottom.BatchSize, Math.Max(top.SequenceLength, bottom.SequenceLength));
        batch.InputIds.AsSpan().Fill(padId);
        int row = 0;
        foreach (var part in new[] { top, bottom })
            for (int r = 0; r < part.BatchSize; r++, row++)
            {
                int from = r * part.SequenceLength, to = row * batch.SequenceLength;
                Array.Copy(part.InputIds, from, batch.InputIds, to, part.SequenceLength);
                Array.Copy(part.AttentionMask, from, batch.AttentionMask, to, part.SequenceLength);
                Array.Copy(part.TokenTypeIds, from, batch.TokenTypeIds, to, part.SequenceLength);
            }
        return batch;
    }
}
