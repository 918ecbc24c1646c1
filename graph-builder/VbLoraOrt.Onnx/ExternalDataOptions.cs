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
}
