namespace VbLoraOrt.Runtime.Data;

/// <summary>The rows of a classification or regression data file.</summary>
/// <param name="Examples">The rows, in file order.</param>
/// <param name="Kind">What the labels are.</param>
/// <param name="ClassNames">Class names in id order when the file names its classes; null for integer ids and regression.</param>
/// <param name="ClassCount">Number of classes (largest id + 1, or number of names); 0 for regression.</param>
/// <param name="SkippedRows">Bad rows skipped (only with <see cref="DataReadOptions.SkipBadRows"/>).</param>
/// <param name="Problems">The skipped rows' messages (<c>file:line: …</c>), at most the first 20.</param>
public sealed record TextDataset(
    IReadOnlyList<TextExample> Examples, LabelKind Kind, IReadOnlyList<string>? ClassNames, int ClassCount,
    int SkippedRows, IReadOnlyList<string> Problems);

/// <summary>The rows of an embedding (anchor, positive) data file.</summary>
/// <param name="Examples">The rows, in file order.</param>
/// <param name="SkippedRows">Bad rows skipped (only with <see cref="DataReadOptions.SkipBadRows"/>).</param>
/// <param name="Problems">The skipped rows' messages (<c>file:line: …</c>), at most the first 20.</param>
public sealed record PairDataset(IReadOnlyList<PairExample> Examples, int SkippedRows, IReadOnlyList<string> Problems);
