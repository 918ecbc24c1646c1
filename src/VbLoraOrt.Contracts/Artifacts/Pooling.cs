namespace VbLoraOrt.Contracts.Artifacts;

/// <summary>How token states become one vector per sequence.</summary>
public enum Pooling
{
    /// <summary>The first token's ([CLS]) state.</summary>
    Cls,

    /// <summary>The attention-masked mean of all token states.</summary>
    Mean,
}
