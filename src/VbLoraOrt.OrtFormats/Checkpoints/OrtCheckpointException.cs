using VbLoraOrt.Onnx;

namespace VbLoraOrt.OrtFormats.Checkpoints;

/// <summary>An ONNX Runtime training checkpoint could not be read, or its content cannot be written as one.</summary>
public sealed class OrtCheckpointException : BadInputException
{
    /// <summary>Creates the error for <paramref name="source"/>; the message starts with the file (or stream) name.</summary>
    public OrtCheckpointException(string source, string problem, Exception? inner = null)
        : base($"ONNX Runtime checkpoint '{source}': {problem}", inner)
    {
        Source = source;
    }

    /// <summary>The offending file, or the display name given for a stream.</summary>
    public new string Source { get; }
}
