namespace VbLoraOrt.Runtime.Data;

/// <summary>How long a batch's sequences are.</summary>
public enum PaddingMode
{
    /// <summary>Length bucketing: examples of similar length share a batch, padded to the batch's longest.</summary>
    Longest,

    /// <summary>Every batch padded to <see cref="BatchOptions.MaxLength"/>, examples in shuffled order (the baseline).</summary>
    MaxLength,
}
