namespace VbLoraOrt.Onnx;

/// <summary>
/// A model file (or one of its external-data files) that cannot be used: the message names the file
/// and what is wrong with it, and is meant to be shown to a user as is.
/// </summary>
public sealed class OnnxFormatException : BadInputException
{
    /// <summary>Creates the exception for <paramref name="path"/>.</summary>
    public OnnxFormatException(string path, string problem, Exception? inner = null)
        : base($"{path}: {problem}", inner)
    {
        FilePath = path;
    }

    /// <summary>The offending file.</summary>
    public string FilePath { get; }
}
