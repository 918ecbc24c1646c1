using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters.Peft;

/// <summary>
/// A PEFT adapter directory or its <c>adapter_config.json</c> cannot be used as given: the message names the file and
/// the field or key at fault and is meant to be shown to a user as is.
/// </summary>
public sealed class PeftFormatException : BadInputException
{
    /// <summary>Creates the exception with a user-facing <paramref name="message"/>.</summary>
    public PeftFormatException(string message, Exception? inner = null) : base(message, inner) { }
}
