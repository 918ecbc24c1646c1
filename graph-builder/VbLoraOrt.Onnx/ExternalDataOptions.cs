namespace VbLoraOrt.Onnx;

/// <summary>How <see cref="OnnxModel.Save"/> stores large tensors outside the protobuf.</summary>
public sealed class ExternalDataOptions
{
    /// <summary>Data file name, relative to the model's folder. Default <c>weights.bin</c>.</summary>
    public string FileName { get; init; } = "weights.bin";

    /// <summary>Tensors of at least this many bytes go to the data file. Default 1024.</summary>
    public long ThresholdBytes { get; init; } = 1024;

    /// <summary>
    /// Keep references to external files that already sit in the target folder (other than
    /// <see cref="FileName"/>) instead of copying their bytes. Default true: models saved into one artifact
    /// folder then share one weights file.
    /// </summary>
    public bool ShareExistingFiles { get; init; } = true;

    /// <summary>
    /// Name the data file after its content: <see cref="FileName"/>'s stem, the first 12 hex digits of the file's
    /// SHA-256, then its extension (<c>merged.1a2b3c4d5e6f.data</c>). Model and data are two files written one after
    /// the other; with a name per content, a crash between the two writes leaves the previous model pointing at its
    /// previous, intact data file instead of at new bytes. Default false.
    /// </summary>
    public bool NameByContent { get; init; }
}
