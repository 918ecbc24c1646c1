using VbLoraOrt.Onnx;
using static VbLoraOrt.Onnx.Attr;

namespace VbLoraOrt.Adapters.Methods.VbLora;

/// <summary>
/// VB-LoRA's sub-vector composition: for logits <c>[p, q, h]</c> and a bank <c>[h, b]</c>,
/// <c>v, i = TopK(logits, k)</c>, <c>w = softmax(v)</c> over the k values, <c>sub = Σ_k w[.., k]·bank[i[.., k]]</c>
/// → <c>[p, q, b]</c>. Emitted as ONNX ops and computed in C#, with the same tie rule (equal logits: the lower
/// index first, as ONNX TopK specifies).
/// </summary>
internal static class TopKAdmixture
{
    /// <summary>Emits the admixture; returns the name of <c>sub: [p, q, b]</c>.</summary>
    public static string Emit(GraphEmitter g, string logits, string bank, int p, int q, int k, int vectorLength)
    {
        string[] top = g.OpMulti("TopK", [logits, g.Int64s("k", k)], 2, Int("axis", -1), Int("largest", 1), Int("sorted", 1));
        string weights = g.Op("Softmax", [top[0]], Int("axis", -1));                         // [p, q, k]
        return Mix(g, weights, top[1], bank, p, q, k, vectorLength);
    }

    /// <summary>
    /// Emits the admixture from its stored form (<see cref="VbLoraStoredForm"/>): <paramref name="indices"/>
    /// <c>[p, q, k]</c> of any integer type and the first k−1 weights <paramref name="weights"/> <c>[p, q, k−1]</c>, the
    /// last being <c>1 − Σ</c>; returns the name of <c>sub: [p, q, b]</c>.
    /// </summary>
    public static string EmitStored(GraphEmitter g, string indices, string weights, string bank, int p, int q, int k, int vectorLength)
    {
        // Gather takes int32/int64 indices only: a narrow stored type is widened here.
        string wide = g.Op("Cast", [indices], Int("to", (long)global::Onnx.TensorProto.Types.DataType.Int64));             // [p, q, k]
        string full = weights;
        if (k > 1)
        {
            var ones = Tensors.Float("", [k - 1, 1], Enumerable.Repeat(1f, k - 1).ToArray());
            string sum = g.Op("MatMul", [weights, g.Constant(ones, "ones")]);                                        // [p, q, 1]
            string last = g.Op("Sub", [g.Scalar(1.0), sum]);                                                         // [p, q, 1]
            full = g.Op("Concat", [weights, last], Int("axis", -1));                                                 // [p, q, k]
        }
        else
        {
            full = g.Constant(Tensors.Float("", [p, q, 1], Enumerable.Repeat(1f, p * q).ToArray()), "one_weight");
        }
        return Mix(g, full, wide, bank, p, q, k, vectorLength);
    }

    // sub[.., :] = Σ_j weights[.., j]·bank[indices[.., j], :] for weights and indices [p, q, k].
    static string Mix(GraphEmitter g, string weights, string indices, string bank, int p, int q, int k, int vectorLength)
    {
        string picked = g.Op("Gather", [bank, indices], Int("axis", 0));                     // [p, q, k, b]
        string row = g.Op("Reshape", [weights, g.Int64s("weights_row_shape", p, q, 1, k)]);  // [p, q, 1, k]
        string mixed = g.Op("MatMul", [row, picked]);                                        // [p, q, 1, b]
        return g.Op("Reshape", [mixed, g.Int64s("sub_shape", p, q, vectorLength)]);          // [p, q, b]
    }

    /// <summary>
    /// Computes the admixture for <paramref name="rows"/> logit rows of length h (row-major <c>[rows, h]</c>);
    /// returns row-major <c>[rows, b]</c>.
    /// </summary>
    public static float[] Compute(ReadOnlySpan<float> logits, int rows, ReadOnlySpan<float> bank, int numVectors, int vectorLength, int k)
    {
        var sub = new float[(long)rows * vectorLength];
        Span<int> index = stackalloc int[k];
        Span<double> weight = stackalloc double[k];
        for (int row = 0; row < rows; row++)
        {
            ReadOnlySpan<float> l = logits.Slice(row * numVectors, numVectors);
            SelectTopK(l, index);
            double max = l[index[0]], total = 0;
            for (int j = 0; j < k; j++)
                total += weight[j] = Math.Exp(l[index[j]] - max);
            Span<float> target = sub.AsSpan(row * vectorLength, vectorLength);
            for (int j = 0; j < k; j++)
            {
                float w = (float)(weight[j] / total);
                ReadOnlySpan<float> vector = bank.Slice(index[j] * vectorLength, vectorLength);
                for (int c = 0; c < vectorLength; c++)
                    target[c] += w * vector[c];
            }
        }
        return sub;
    }

    /// <summary>
    /// Fills <paramref name="index"/> with the positions of the k largest <paramref name="values"/>, largest first;
    /// among equal values the lower index first (ONNX TopK's rule). O(k·h), k is tiny. The adapter file's stored
    /// form selects with this too, so it keeps exactly the vectors the graph uses.
    /// </summary>
    internal static void SelectTopK(ReadOnlySpan<float> values, Span<int> index)
    {
        for (int j = 0; j < index.Length; j++)
        {
            int best = -1;
            for (int i = 0; i < values.Length; i++)
            {
                if (index[..j].Contains(i))
                    continue;
                if (best < 0 || values[i] > values[best])
                    best = i;
            }
            index[j] = best;
        }
    }
}
