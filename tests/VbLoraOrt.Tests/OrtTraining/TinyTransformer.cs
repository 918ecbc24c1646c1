using Onnx;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.OrtTraining;

/// <summary>
/// A one-layer BERT-shaped encoder written as exporters write it, small enough for conformance runs:
/// <code>
/// x  = LayerNorm(Embedding[input_ids])                                  hidden 8
/// q, k, v = x·W + b  (layer.0.attention.self.{query,key,value})          2 heads of 4
/// a  = softmax(q·kᵀ/2 + (1 − mask)·(−10000)) · v
/// last_hidden_state = LayerNorm(a·Wo + bo + x)                          (layer.0.attention.output.dense)
/// </code>
/// Inputs <c>input_ids</c>, <c>attention_mask</c> (int64 [batch, sequence]).
/// </summary>
static class TinyTransformer
{
    public const int Vocab = 20, Hidden = 8, Heads = 2;
    const string Layer = "layer.0.attention";

    /// <summary>
    /// Writes the model to <paramref name="path"/>: at opset 17 with <c>LayerNormalization</c> nodes, or with
    /// <paramref name="torchStyle"/> at opset 13 with each LayerNorm decomposed as torch exports it
    /// (ReduceMean, Sub, Pow, ReduceMean, Add ε, Sqrt, Div, Mul γ, Add β).
    /// </summary>
    public static void Write(string path, bool torchStyle = false)
    {
        var m = TinyModels.NewModel(torchStyle ? 13 : 17);
        var g = m.Graph;
        g.Input.Add(ValueInfos.Tensor("input_ids", TensorProto.Types.DataType.Int64, "batch", "sequence"));
        g.Input.Add(ValueInfos.Tensor("attention_mask", TensorProto.Types.DataType.Int64, "batch", "sequence"));
        g.Output.Add(ValueInfos.Float("last_hidden_state", "batch", "sequence", Hidden));
        int seed = 100;
        void Weight(string name, long[] dims, float scale) =>
            g.Initializer.Add(Tensors.Float(name, dims, TinyModels.Random((int)dims.Aggregate(1L, (a, d) => a * d), seed++, scale)));
        void Node(string op, string[] inputs, string output, params AttributeProto[] attrs) =>
            g.Node.Add(TinyModels.Node(op, inputs, [output], null, attrs));
        void LayerNorm(string norm, string x, string y)
        {
            if (!torchStyle)
            {
                Node("LayerNormalization", [x, $"{norm}.weight", $"{norm}.bias"], y, Attr.Int("axis", -1), Attr.Float("epsilon", 1e-12f));
                return;
            }
            Node("ReduceMean", [x], $"{norm}/mean", Attr.Ints("axes", -1));
            Node("Sub", [x, $"{norm}/mean"], $"{norm}/centered");
            Node("Pow", [$"{norm}/centered", "two"], $"{norm}/squared");
            Node("ReduceMean", [$"{norm}/squared"], $"{norm}/variance", Attr.Ints("axes", -1));
            Node("Add", [$"{norm}/variance", "epsilon"], $"{norm}/variance_eps");
            Node("Sqrt", [$"{norm}/variance_eps"], $"{norm}/std");
            Node("Div", [$"{norm}/centered", $"{norm}/std"], $"{norm}/normalized");
            Node("Mul", [$"{norm}/normalized", $"{norm}.weight"], $"{norm}/scaled");
            Node("Add", [$"{norm}/scaled", $"{norm}.bias"], y);
        }

        Weight("embeddings.word_embeddings.weight", [Vocab, Hidden], 1f);
        foreach (string norm in new[] { "embeddings.LayerNorm", $"{Layer}.output.LayerNorm" })
        {
            g.Initializer.Add(Tensors.Float($"{norm}.weight", [Hidden], TinyModels.Random(Hidden, seed++, 0.2f).Select(v => 1 + v).ToArray()));
            Weight($"{norm}.bias", [Hidden], 0.1f);
        }
        g.Initializer.Add(Tensors.Int64Vector("split_heads", 0, 0, Heads, Hidden / Heads));
        g.Initializer.Add(Tensors.Int64Vector("merge_heads", 0, 0, Hidden));
        g.Initializer.Add(Tensors.Int64Vector("mask_axes", 1, 2));
        g.Initializer.Add(Tensors.Float("one", [], [1f]));
        g.Initializer.Add(Tensors.Float("masked_score", [], [-10000f]));
        g.Initializer.Add(Tensors.Float("sqrt_head_size", [], [MathF.Sqrt(Hidden / Heads)]));
        if (torchStyle)
        {
            g.Initializer.Add(Tensors.Float("two", [], [2f]));
            g.Initializer.Add(Tensors.Float("epsilon", [], [1e-12f]));
        }

        Node("Gather", ["embeddings.word_embeddings.weight", "input_ids"], "embedded");
        LayerNorm("embeddings.LayerNorm", "embedded", "x");
        foreach (string p in new[] { "query", "key", "value" })
        {
            Weight($"{Layer}.self.{p}.weight", [Hidden, Hidden], 0.5f);
            Weight($"{Layer}.self.{p}.bias", [Hidden], 0.1f);
            Node("MatMul", ["x", $"{Layer}.self.{p}.weight"], $"{p}_mm");
            Node("Add", [$"{p}_mm", $"{Layer}.self.{p}.bias"], $"{p}_linear");
            Node("Reshape", [$"{p}_linear", "split_heads"], $"{p}_heads");
            Node("Transpose", [$"{p}_heads"], $"{p}_t", Attr.Ints("perm", p == "key" ? [0, 2, 3, 1] : [0, 2, 1, 3]));
        }
        Node("Cast", ["attention_mask"], "mask_float", Attr.Int("to", (long)TensorProto.Types.DataType.Float));
        Node("Sub", ["one", "mask_float"], "mask_inverted");
        Node("Mul", ["mask_inverted", "masked_score"], "mask_scores");
        Node("Unsqueeze", ["mask_scores", "mask_axes"], "mask_4d");
        Node("MatMul", ["query_t", "key_t"], "scores");
        Node("Div", ["scores", "sqrt_head_size"], "scaled");
        Node("Add", ["scaled", "mask_4d"], "masked");
        Node("Softmax", ["masked"], "probs", Attr.Int("axis", -1));
        Node("MatMul", ["probs", "value_t"], "context_heads");
        Node("Transpose", ["context_heads"], "context_t", Attr.Ints("perm", 0, 2, 1, 3));
        Node("Reshape", ["context_t", "merge_heads"], "context");
        Weight($"{Layer}.output.dense.weight", [Hidden, Hidden], 0.5f);
        Weight($"{Layer}.output.dense.bias", [Hidden], 0.1f);
        Node("MatMul", ["context", $"{Layer}.output.dense.weight"], "dense_mm");
        Node("Add", ["dense_mm", $"{Layer}.output.dense.bias"], "dense");
        Node("Add", ["dense", "x"], "residual");
        LayerNorm($"{Layer}.output.LayerNorm", "residual", "last_hidden_state");
        OnnxModel.FromProto(m).Save(path);
    }

    /// <summary>Batch <paramref name="index"/>: 3 sequences of up to 5 tokens (padded, id 0), class labels 0/1.</summary>
    public static (long[] Ids, long[] Mask, long[] Labels) Batch(int index)
    {
        var rng = new Random(500 + index);
        int[] lengths = [5, 3, 4];
        var ids = new long[3 * 5];
        var mask = new long[3 * 5];
        for (int r = 0; r < 3; r++)
            for (int s = 0; s < lengths[(r + index) % 3]; s++)
            {
                ids[r * 5 + s] = rng.Next(1, Vocab);
                mask[r * 5 + s] = 1;
            }
        return (ids, mask, [index % 2, 1, 0]);
    }

    /// <summary>Batch <paramref name="index"/>'s token inputs as ONNX Runtime tensors, and its labels.</summary>
    public static (Dictionary<string, object> Data, long[] Labels) Inputs(int index)
    {
        var (ids, mask, labels) = Batch(index);
        int[] tokens = [BatchSize, Sequence];
        var data = new Dictionary<string, object>
        {
            ["input_ids"] = new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(ids, tokens),
            ["attention_mask"] = new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(mask, tokens),
        };
        return (data, labels);
    }

    public const int BatchSize = 3, Sequence = 5;
}
