using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters;

/// <summary>
/// An adapter cannot be built, injected or merged as asked: the message names the module, value or option at
/// fault and what to change, and is meant to be shown to a user as is.
/// </summary>
public sealed class AdapterException : BadInputException
{
    /// <summary>Creates the exception with a user-facing <paramref name="message"/>.</summary>
    public AdapterException(string message) : base(message) { }
}
