using VbLoraOrt.Onnx;

namespace VbLoraOrt.OrtFormats.Adapters;

/// <summary>
/// An <c>.onnx_adapter</c> file that cannot be used: malformed, of an unsupported version, or not fitting the model
/// it is meant for. The message starts with the file and names the parameter (tensor) or field at fault.
/// </summary>
public sealed class OnnxAdapterException : BadInputException
{
    /// <summary>Creates the error for <paramref name="source"/>.</summary>
    public OnnxAdapterException(string source, string problem, Exception? inner = null)
        : base($"adapter file '{source}': {problem}", inner)
    {
        FilePath = source;
    }

    /// <summary>The offending file (or the display name of a buffer).</summary>
    public string FilePath { get; }
}
