namespace VbLoraOrt.Onnx;

/// <summary>
/// Base of every error caused by what a user gave the product (a model, a data row, a checkpoint, an option
/// that does not fit the model). Its message is complete for a person: what was wrong, where, what to do.
/// The command-line programs print it as one line and exit with the bad-input code.
/// </summary>
public class BadInputException : Exception
{
    /// <summary>Creates the exception.</summary>
    public BadInputException(string message, Exception? inner = null) : base(message, inner) { }
}
