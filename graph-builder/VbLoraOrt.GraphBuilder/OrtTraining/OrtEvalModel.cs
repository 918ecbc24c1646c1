using VbLoraOrt.Onnx;

namespace VbLoraOrt.GraphBuilder.OrtTraining;

/// <summary>
/// The project's eval graph in ONNX Runtime's eval-model form (DESIGN.md §3.7): the same forward with the trainables
/// as inputs and <c>loss</c> first, but the labels are required inputs: ONNX Runtime feeds every non-parameter input
/// from the caller, so the defaults the project's graph gives them (initializers of the same name) are dropped.
/// </summary>
public static class OrtEvalModel
{
    /// <summary>The ONNX Runtime form of <paramref name="eval"/> (a copy) with labels <paramref name="labelInputs"/>.</summary>
    public static OnnxModel From(OnnxModel eval, IReadOnlyList<string> labelInputs)
    {
        ArgumentNullException.ThrowIfNull(eval);
        ArgumentNullException.ThrowIfNull(labelInputs);
        var model = eval.Clone();
        var defaults = model.Graph.Initializer.Where(t => labelInputs.Contains(t.Name, StringComparer.Ordinal)).ToList();
        foreach (var label in defaults)
            model.Graph.Initializer.Remove(label);
        return model;
    }
}
