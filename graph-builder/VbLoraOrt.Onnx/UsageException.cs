namespace VbLoraOrt.Onnx;

/// <summary>
/// An error in how a program was called: an option missing, out of range, or not applicable to the rest of the
/// command line. Its message names the option and what to do. The command-line programs print it as one line and
/// exit with the usage code; only this type (never a library's <see cref="ArgumentException"/>) means "usage".
/// </summary>
public class UsageException : Exception
{
    /// <summary>Creates the exception.</summary>
    public UsageException(string message, Exception? inner = null) : base(message, inner) { }
}
