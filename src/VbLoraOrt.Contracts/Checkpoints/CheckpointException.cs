using VbLoraOrt.Onnx;

namespace VbLoraOrt.Contracts.Checkpoints;

/// <summary>A checkpoint file could not be read or does not belong to the artifacts in use.</summary>
public sealed class CheckpointException : VbLoraOrt.Onnx.BadInputException
{
    /// <summary>Creates the error for <paramref name="path"/>; the message starts with the file name.</summary>
    public CheckpointException(string path, string problem, Exception? inner = null)
        : base($"checkpoint '{path}': {problem}", inner)
    {
        FilePath = path;
    }

    /// <summary>The offending file (or the display name of a stream).</summary>
    public string FilePath { get; }
}
