using Onnx;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.GraphBuilder.Artifacts.Optimizer;

/// <summary>
/// Emits the numerical guard of a step: a bool scalar that is true when every gradient element is finite,
/// and the global gradient L2 norm. Computed on the device from the gradients, so no gradient is copied to
/// the host to check it.
/// </summary>
/// <remarks>
/// The flag counts non-finite elements (<c>IsNaN ∨ IsInf</c>) instead of testing the norm for infinity: the
/// sum of squares of large but finite gradients can overflow to +inf, which would reject a valid step.
/// </remarks>
static class FiniteCheckBlock
{
    /// <summary>Returns the value names of (all-finite flag, gradient norm) for <paramref name="grads"/>.</summary>
    public static (string AllFinite, string GradNorm) Emit(GraphEmitter emit, IReadOnlyList<string> grads)
    {
        var badCounts = new List<string>(grads.Count);
        var squareSums = new List<string>(grads.Count);
        foreach (string grad in grads)
        {
            string nonFinite = emit.Op("Or", [emit.Op("IsNaN", [grad]), emit.Op("IsInf", [grad])]);
            string asFloat = emit.Op("Cast", [nonFinite], Attr.Int("to", (long)TensorProto.Types.DataType.Float));
            badCounts.Add(emit.Op("ReduceSum", [asFloat], Attr.Int("keepdims", 0)));       // []
            squareSums.Add(emit.Op("ReduceSumSquare", [grad], Attr.Int("keepdims", 0)));  // []
        }
        string totalBad = grads.Count == 1 ? badCounts[0] : emit.Op("Sum", badCounts);
        string allFinite = emit.Op("Equal", [totalBad, emit.Scalar(0, hint: "zero")]);
        string squareSum = grads.Count == 1 ? squareSums[0] : emit.Op("Sum", squareSums);
        return (allFinite, emit.Op("Sqrt", [squareSum]));
    }
}
