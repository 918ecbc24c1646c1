using Onnx;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Tests.Differentiation;

/// <summary>
/// Whole attention blocks written the way exporters write them (BERT by torch at opsets 11 and 13, a GPT-style
/// block at opset 17), with dynamic batch and sequence, checked against central differences (float64).
/// </summary>
[TestClass]
public sealed class TransformerBlockGradientTests
{
    // [batch, seq, 4] → q, k, v (2 heads of 2) → softmax(q·kᵀ/√2 + mask) · v → [batch, seq, 4]; q and v trainable, k frozen.
    [TestMethod]
    [DataRow(11L)]
    [DataRow(13L)]
    public void BertSelfAttention_AsExportedByTorch_MatchesCentralDifferences(long opset)
    {
        var check = new GradientCheck(opset)
            .Input("x", [2, 3, 4], ["batch", "sequence", 4], trainable: false)
            .Input("mask", [2, 1, 1, 3], ["batch", 1, 1, "sequence"], trainable: false, low: -2, high: 0)
            .Input("wq", [4, 4]).Input("wk", [4, 4], trainable: false).Input("wv", [4, 4]).Input("bq", [4])
            .Ints("zero", 0).Ints("one", 1).Ints("heads", 2, 2).Ints("merged", 4).Scalar("scale", Math.Sqrt(2));
        Initializer(check, "i0", 0); Initializer(check, "i1", 1);
        check.Node("MatMul", ["x", "wq"], ["q0"]).Node("Add", ["bq", "q0"], ["q1"])
            .Node("MatMul", ["x", "wk"], ["k1"]).Node("MatMul", ["x", "wv"], ["v1"]);
        foreach (var t in new[] { "q", "k", "v" })
        {
            // Reshape to [batch, sequence, 2, 2] through Shape → Gather → Unsqueeze → Concat, as torch 1.10 does.
            check.Node("Shape", [$"{t}1"], [$"{t}_shape"])
                .Node("Gather", [$"{t}_shape", "i0"], [$"{t}_b"], Attr.Int("axis", 0))
                .Node("Gather", [$"{t}_shape", "i1"], [$"{t}_s"], Attr.Int("axis", 0));
            Unsqueeze(check, opset, $"{t}_b", $"{t}_b1");
            Unsqueeze(check, opset, $"{t}_s", $"{t}_s1");
            check.Node("Concat", [$"{t}_b1", $"{t}_s1", "heads"], [$"{t}_target"], Attr.Int("axis", 0))
                .Node("Reshape", [$"{t}1", $"{t}_target"], [$"{t}2"]);
        }
        check.Node("Transpose", ["q2"], ["q3"], Attr.Ints("perm", 0, 2, 1, 3))
            .Node("Transpose", ["k2"], ["k3"], Attr.Ints("perm", 0, 2, 3, 1))
            .Node("Transpose", ["v2"], ["v3"], Attr.Ints("perm", 0, 2, 1, 3))
            .Node("MatMul", ["q3", "k3"], ["scores"]).Node("Div", ["scores", "scale"], ["scaled"])
            .Node("Add", ["scaled", "mask"], ["masked"]).Node("Softmax", ["masked"], ["probs"], Attr.Int("axis", opset < 13 ? 3 : -1))
            .Node("MatMul", ["probs", "v3"], ["context"]).Node("Transpose", ["context"], ["context_t"], Attr.Ints("perm", 0, 2, 1, 3))
            .Node("Shape", ["context_t"], ["c_shape"])
            .Node("Gather", ["c_shape", "i0"], ["c_b"], Attr.Int("axis", 0)).Node("Gather", ["c_shape", "i1"], ["c_s"], Attr.Int("axis", 0));
        Unsqueeze(check, opset, "c_b", "c_b1");
        Unsqueeze(check, opset, "c_s", "c_s1");
        var backward = check.Node("Concat", ["c_b1", "c_s1", "merged"], ["c_target"], Attr.Int("axis", 0))
            .Node("Reshape", ["context_t", "c_target"], ["y"]).Verify();

        Assert.IsFalse(backward.DifferentiatedValues.Contains("wk"), "the frozen key weight gets no gradient");
        Assert.IsFalse(backward.DifferentiatedValues.Contains("x"), "nothing below the trainable projections");
        Assert.IsFalse(backward.Nodes.Any(n => n.OpType == "NonZero"), "symbolic dims decide every broadcast statically");
    }

    static void Initializer(GradientCheck check, string name, long value) => check.Initializer(Tensors.Int64(name, [], [value]));

    static void Unsqueeze(GradientCheck check, long opset, string input, string output)
    {
        if (opset < 13)
            check.Node("Unsqueeze", [input], [output], Attr.Ints("axes", 0));
        else
            check.Node("Unsqueeze", [input, "zero"], [output]);
    }

    // LayerNormalization → fused qkv MatMul → Split → causal mask from Shape/Range/Less/Where → Softmax → SiLU gate.
    [TestMethod]
    public void GptStyleBlockWithCausalMask_MatchesCentralDifferences()
    {
        var backward = new GradientCheck(opset: 17)
            .Input("x", [2, 3, 4], ["batch", "sequence", 4]).Input("gamma", [4]).Input("wqkv", [4, 12]).Input("wo", [4, 4], trainable: false)
            .Ints("sizes", 4, 4, 4).Ints("one", 1).Ints("minus_one", -1).Scalar("neg_big", -1e4).Scalar("scale", 0.5)
            .Initializer(Tensors.Int64("i1", [], [1])).Initializer(Tensors.Int64("z", [], [0])).Initializer(Tensors.Int64("step", [], [1]))
            .Node("LayerNormalization", ["x", "gamma"], ["h"], Attr.Int("axis", -1))
            .Node("MatMul", ["h", "wqkv"], ["qkv"])
            .Node("Split", ["qkv", "sizes"], ["q", "k", "v"], Attr.Int("axis", -1))
            .Node("Transpose", ["k"], ["kt"], Attr.Ints("perm", 0, 2, 1))
            .Node("MatMul", ["q", "kt"], ["scores"]).Node("Mul", ["scores", "scale"], ["scaled"])
            // causal mask: position j ≤ i, from the run-time sequence length
            .Node("Shape", ["x"], ["xs"]).Node("Gather", ["xs", "i1"], ["s"], Attr.Int("axis", 0))
            .Node("Range", ["z", "s", "step"], ["pos"])
            .Node("Unsqueeze", ["pos", "one"], ["rows"]).Node("Unsqueeze", ["pos", "z1"], ["cols"])
            .Node("Greater", ["cols", "rows"], ["future"])
            .Node("Where", ["future", "neg_big", "scaled"], ["masked"])
            .Node("Softmax", ["masked"], ["probs"], Attr.Int("axis", -1))
            .Node("MatMul", ["probs", "v"], ["context"])
            .Node("MatMul", ["context", "wo"], ["o"])
            .Node("Sigmoid", ["o"], ["gate"]).Node("Mul", ["o", "gate"], ["silu"])
            .Node("Max", ["silu", "x"], ["y"])
            .Ints("z1", 0).Verify();

        Assert.IsFalse(backward.DifferentiatedValues.Contains("pos"), "shape arithmetic carries no gradient");
        Assert.IsFalse(backward.DifferentiatedValues.Contains("wo"));
    }
}
