namespace VbLoraOrt.Runtime.Data;

/// <summary>What the <c>label</c> column holds.</summary>
public enum LabelKind
{
    /// <summary>Classes: non-negative integer ids, or class names mapped to ids in ordinal order of the names.</summary>
    Class,

    /// <summary>A real-valued regression target.</summary>
    Regression,
}
