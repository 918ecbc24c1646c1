using VbLoraOrt.Onnx;

namespace VbLoraOrt.Differentiation.Core;

/// <summary>
/// A graph cannot be differentiated as asked: an op without a gradient rule lies between a trainable tensor
/// and the loss, a name is not in the graph, or a trainable tensor does not influence the loss. The message
/// names the op, node and path.
/// </summary>
public sealed class DifferentiationException : VbLoraOrt.Onnx.BadInputException
{
    /// <summary>Creates the exception with a message for people.</summary>
    public DifferentiationException(string message) : base(message, null) { }

    /// <summary>Creates the exception with a message and the underlying cause.</summary>
    public DifferentiationException(string message, Exception inner) : base(message, inner) { }
}
