using Onnx;

namespace VbLoraOrt.Differentiation.Core;

/// <summary>
/// Emits the gradient of one forward node: returns, for each input, the name of its gradient, or null where
/// the input needs none (<see cref="GradientContext.Wants"/> is false) or is not differentiable.
/// </summary>
internal delegate string?[] GradientRule(GradientContext context);

/// <summary>Says why a rule cannot differentiate this node (an attribute value it does not handle), or null.</summary>
internal delegate string? RuleGuard(NodeProto node);

/// <summary>
/// One row of the rule table: the rule for <paramref name="OpType"/> from opset <paramref name="SinceOpset"/> on.
/// </summary>
/// <param name="OpType">Default-domain op type.</param>
/// <param name="SinceOpset">First opset this row applies to; a later row for the same op replaces it.</param>
/// <param name="DifferentiableInputs">Input positions gradients flow to (null: all). Others, e.g. indices, shapes and axes, never get one.</param>
/// <param name="Rule">The rule; null for ops whose outputs carry no gradient at all (<c>Shape</c>, <c>Range</c>…).</param>
/// <param name="Guard">Optional check of attributes the rule does not support.</param>
/// <param name="GradientOutputs">
/// How many leading outputs the rule takes gradients of (null: all). A later output on the path to the loss
/// (e.g. LayerNormalization's saved mean) is an error, never a silently dropped gradient.
/// </param>
internal sealed record GradientRuleEntry(string OpType, long SinceOpset, int[]? DifferentiableInputs, GradientRule? Rule,
    RuleGuard? Guard = null, int? GradientOutputs = null)
{
    /// <summary>True for ops whose outputs never carry a gradient.</summary>
    public bool IsNonDifferentiable => Rule == null;

    /// <summary>True when a gradient can flow to input <paramref name="index"/>.</summary>
    public bool IsDifferentiableInput(int index) =>
        Rule != null && (DifferentiableInputs == null || DifferentiableInputs.Contains(index));
}
