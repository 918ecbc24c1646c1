using System.Buffers.Binary;
using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Contracts.Artifacts;

namespace VbLoraOrt.Adapters.Methods.VbLora;

/// <summary>
/// VB-LoRA's stored form (DESIGN.md §2): the bank as is; per logits tensor <c>[.., h]</c> only its top-k along the
/// last axis — the indices <c>[.., k]</c> (U8 when h ≤ 256, I16 when h ≤ 2^15, else I32) and the first k−1
/// softmax weights over the k values <c>[.., k−1]</c> (the last is 1 − Σ). The top-k is chosen exactly as the
/// graph's ONNX TopK chooses (largest first, ties to the lower index), so the stored adapter composes the same A
/// and B as the trained one.
/// <para>
/// Reading back gives logits <c>log(w)</c> at the kept indices and −∞ elsewhere: TopK, softmax and therefore A, B
/// are unchanged, but the gradient through −∞ logits is zero, so the result cannot be trained further.
/// </para>
/// </summary>
internal static class VbLoraStoredForm
{
    // Σ of the first k−1 stored weights may exceed 1 by float rounding when the last weight is ~0.
    const double SumTolerance = 1e-5;

    /// <summary>The stored tensors of the adapter part: the bank (unless it is a frozen shared one), then indices and weights per logits tensor.</summary>
    public static List<SafeTensor> Encode(VbLoraMethod method, AdapterPlan plan, IReadOnlyDictionary<string, float[]> values) =>
        Encode(method, plan, values, method.IndexBytes);

    /// <summary>As <see cref="Encode(VbLoraMethod, AdapterPlan, IReadOnlyDictionary{string, float[]})"/>, with indices <paramref name="indexBytes"/> wide (1, 2 or 4).</summary>
    public static List<SafeTensor> Encode(VbLoraMethod method, AdapterPlan plan, IReadOnlyDictionary<string, float[]> values, int indexBytes)
    {
        var o = method.Options;
        var tensors = new List<SafeTensor>();
        if (!method.UsesFrozenBank)                                               // a shared bank is named in the options, not stored
            tensors.Add(SafeTensor.F32(VbLoraNames.StoredVectorBank, [o.NumVectors, o.VectorLength], values[VbLoraNames.VectorBank]));
        foreach (var (parameter, key) in LogitsTensors(plan))
        {
            long[] lead = parameter.Shape[..^1];                                      // [p, q] of logits [p, q, h]
            int rows = checked((int)(parameter.ElementCount / o.NumVectors));
            var (indices, weights) = TopK(values[parameter.Name], rows, o.NumVectors, o.TopK, indexBytes);
            tensors.Add(new(VbLoraNames.TopKIndices(key), IndexDType(indexBytes), [.. lead, o.TopK], indices));
            tensors.Add(SafeTensor.F32(VbLoraNames.TopKWeights(key), [.. lead, o.TopK - 1], weights));
        }
        return tensors;
    }

    /// <summary>The plan's parameter values rebuilt from the stored tensors (logits with −∞ off the top-k).</summary>
    public static Dictionary<string, float[]> Decode(VbLoraMethod method, AdapterPlan plan, StoredTensors stored) =>
        Decode(method, plan, stored, method.IndexBytes);

    /// <summary>As <see cref="Decode(VbLoraMethod, AdapterPlan, StoredTensors)"/>, with indices <paramref name="indexBytes"/> wide (1, 2 or 4).</summary>
    public static Dictionary<string, float[]> Decode(VbLoraMethod method, AdapterPlan plan, StoredTensors stored, int indexBytes)
    {
        var o = method.Options;
        var values = new Dictionary<string, float[]>(StringComparer.Ordinal);
        if (!method.UsesFrozenBank)
            values[VbLoraNames.VectorBank] = stored.TakeFiniteFloats(VbLoraNames.StoredVectorBank, [o.NumVectors, o.VectorLength]);
        foreach (var (parameter, key) in LogitsTensors(plan))
        {
            long[] lead = parameter.Shape[..^1];
            var indices = stored.Take(VbLoraNames.TopKIndices(key), IndexDType(indexBytes), [.. lead, o.TopK]);
            float[] weights = stored.TakeFiniteFloats(VbLoraNames.TopKWeights(key), [.. lead, o.TopK - 1]);
            values[parameter.Name] = Logits(stored, indices, weights, lead, o.NumVectors, o.TopK, indexBytes);
        }
        return values;
    }

    /// <summary>safetensors dtype of an index of <paramref name="bytes"/> bytes.</summary>
    public static string IndexDType(int bytes) => bytes switch { 1 => "U8", 2 => "I16", _ => "I32" };

    /// <summary>Every logits parameter of the plan with its PEFT key, in plan order (per target: A, then B).</summary>
    public static IEnumerable<(TrainableTensor Parameter, string Key)> LogitsTensors(AdapterPlan plan)
    {
        var byName = plan.Parameters.ToDictionary(p => p.Name, StringComparer.Ordinal);
        foreach (var t in plan.Targets)
        {
            yield return (byName[VbLoraNames.LogitsA(t.Path)], VbLoraNames.StoredLogitsA(t.Path));
            yield return (byName[VbLoraNames.LogitsB(t.Path)], VbLoraNames.StoredLogitsB(t.Path));
        }
    }

    // Per row of h logits: k indices (largest first) as little-endian integers of `indexBytes`, and the first k−1
    // softmax weights of the k values, computed like TopKAdmixture.Compute.
    static (byte[] Indices, float[] Weights) TopK(float[] logits, int rows, int h, int k, int indexBytes)
    {
        var indices = new byte[(long)rows * k * indexBytes];
        var weights = new float[(long)rows * (k - 1)];
        Span<int> top = stackalloc int[k];
        Span<double> e = stackalloc double[k];
        for (int row = 0; row < rows; row++)
        {
            ReadOnlySpan<float> l = logits.AsSpan(row * h, h);
            TopKAdmixture.SelectTopK(l, top);
            double max = l[top[0]], total = 0;
            for (int j = 0; j < k; j++)
                total += e[j] = Math.Exp(l[top[j]] - max);
            for (int j = 0; j < k; j++)
                WriteIndex(indices.AsSpan((row * k + j) * indexBytes, indexBytes), top[j]);
            for (int j = 0; j < k - 1; j++)
                weights[(long)row * (k - 1) + j] = (float)(e[j] / total);
        }
        return (indices, weights);
    }

    // Logits [.., h]: log(w) at the stored indices, −∞ elsewhere; checks every row.
    static float[] Logits(StoredTensors stored, SafeTensor indexTensor, float[] weights, long[] lead, int h, int k, int indexBytes)
    {
        long rows = lead.Aggregate(1L, (a, d) => a * d);
        var logits = new float[rows * h];
        Array.Fill(logits, float.NegativeInfinity);
        var top = new int[k];
        for (long row = 0; row < rows; row++)
        {
            string where = $"'{indexTensor.Name}' row {RowName(row, lead)}";
            for (int j = 0; j < k; j++)
            {
                top[j] = ReadIndex(indexTensor.Data.AsSpan((int)((row * k + j) * indexBytes), indexBytes));
                if (top[j] < 0 || top[j] >= h)
                    throw stored.Bad($"{where} has index {top[j]}, outside the bank's {h} vectors (0..{h - 1})");
                if (Array.IndexOf(top, top[j], 0, j) >= 0)
                    throw stored.Bad($"{where} lists index {top[j]} twice; the top-k indices of a row must be distinct");
            }
            double sum = 0;
            for (int j = 0; j < k - 1; j++)
            {
                float w = weights[row * (k - 1) + j];
                if (!(w >= 0 && w <= 1))
                    throw stored.Bad($"{where}: weight {j} is {w}; top-k weights must lie in [0, 1]");
                sum += w;
                logits[row * h + top[j]] = MathF.Log(w);
            }
            if (sum > 1 + SumTolerance)
                throw stored.Bad($"{where}: the stored weights sum to {sum}, more than 1; the last weight would be negative");
            logits[row * h + top[k - 1]] = (float)Math.Log(Math.Max(0, 1 - sum));
        }
        return logits;
    }

    static string RowName(long row, long[] lead)
    {
        var position = new long[lead.Length];
        for (int axis = lead.Length - 1; axis >= 0; axis--)
        {
            position[axis] = row % lead[axis];
            row /= lead[axis];
        }
        return $"[{string.Join(",", position)}]";
    }

    static void WriteIndex(Span<byte> target, int index)
    {
        switch (target.Length)
        {
            case 1: target[0] = checked((byte)index); break;
            case 2: BinaryPrimitives.WriteInt16LittleEndian(target, checked((short)index)); break;
            default: BinaryPrimitives.WriteInt32LittleEndian(target, index); break;
        }
    }

    static int ReadIndex(ReadOnlySpan<byte> source) => source.Length switch
    {
        1 => source[0],
        2 => BinaryPrimitives.ReadInt16LittleEndian(source),
        _ => BinaryPrimitives.ReadInt32LittleEndian(source),
    };
}
