using Onnx;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Differentiation.Rewrites;

/// <summary>
/// Splits attention's key transpose in two. Torch exports kᵀ as one <c>(0, 2, 3, 1)</c> transpose of the projected keys
/// <c>[b, t, h, d] → [b, h, d, t]</c>, which ONNX Runtime materializes on one thread at about three times the cost of
/// the <c>(0, 2, 1, 3)</c> head split of queries and values. Written as that head split, a Reshape to its own shape
/// (all-zero shape: every dimension copied) and a last-two-axes swap, the swap folds into the score product
/// (FusedMatMul transB) and only the cheap head split is materialized; the Reshape keeps ONNX Runtime's transpose
/// optimizer from merging the two transposes back into one. The same values (DESIGN.md §4.2, "Keys split like
/// queries"). Only transposes every reader of which is a product reading it as its right operand are split.
/// </summary>
internal static class KeySwapRewrite
{
    static readonly long[] KeyPerm = [0, 2, 3, 1];

    /// <summary>Rewrites every match in <paramref name="graph"/>; returns how many key transposes it split.</summary>
    public static int Apply(GraphProto graph)
    {
        var outputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var readers = graph.Node.SelectMany(n => n.Input.Select((input, slot) => (input, slot, n)))
            .ToLookup(r => r.input, r => (r.slot, r.n), StringComparer.Ordinal);
        var matches = graph.Node.Where(n => n.OpType == "Transpose" && n.Domain is "" or "ai.onnx"
                && Attr.GetInts(n, "perm") is { } perm && perm.SequenceEqual(KeyPerm) && !outputs.Contains(n.Output[0])
                && readers[n.Output[0]].Any()
                && readers[n.Output[0]].All(r => r is (1, { OpType: "MatMul", Domain: "" or "ai.onnx" })))
            .ToList();
        if (matches.Count == 0)
            return 0;
        var names = new UniqueNames(graph);
        string sameShape = names.Fresh("key_split/same_shape");
        graph.Initializer.Add(Tensors.Int64(sameShape, [4], new long[4]));
        foreach (var transpose in matches)
        {
            string heads = names.Fresh($"{transpose.Output[0]}/heads"), kept = names.Fresh($"{transpose.Output[0]}/kept");
            int at = graph.Node.IndexOf(transpose);
            graph.Node.Insert(at, new NodeProto
            {
                OpType = "Transpose", Name = names.Fresh($"{transpose.Name}/heads"), Input = { transpose.Input[0] }, Output = { heads },
                Attribute = { Attr.Ints("perm", 0, 2, 1, 3) },
            });
            graph.Node.Insert(at + 1, new NodeProto { OpType = "Reshape", Name = names.Fresh($"{transpose.Name}/kept"), Input = { heads, sameShape }, Output = { kept } });
            transpose.Input[0] = kept;
            transpose.Attribute.Clear();
            transpose.Attribute.Add(Attr.Ints("perm", 0, 1, 3, 2));
        }
        return matches.Count;
    }
}
