using System.Globalization;
using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;
using static VbLoraOrt.Onnx.Attr;

namespace VbLoraOrt.Adapters.Methods.VbLora;

/// <summary>
/// VB-LoRA (DESIGN.md §2): one vector bank <c>[h, b]</c> shared by all targets; per target, logits
/// <c>A: [r, in/b, h]</c> and <c>B: [out/b, r, h]</c> pick and mix k bank vectors per sub-vector.
/// <c>A = reshape(sub_A, [r, in])</c>, <c>B = reshape(transpose(sub_B, [0, 2, 1]), [out, r])</c>, as in PEFT's
/// <c>VBLoRALayer._get_lora_matrices</c>.
/// </summary>
public sealed class VbLoraMethod : AdapterMethod<VbLoraOptions>
{
    /// <summary>Creates the method; validates <paramref name="options"/>.</summary>
    /// <exception cref="UsageException">An option is out of range.</exception>
    public VbLoraMethod(VbLoraOptions options)
        : base(options, o => o.Validate())
    {
    }

    /// <inheritdoc/>
    public override AdapterMethodDescriptor Descriptor => VbLoraDescriptor.Instance;

    /// <inheritdoc/>
    /// <remarks>False: the stored form keeps only each logits row's top-k; the −∞ elsewhere get no gradient, so
    /// training could never pick another bank vector.</remarks>
    public override bool StoredFormTrainable => false;

    int H => Options.NumVectors;
    int Bl => Options.VectorLength;
    int R => Options.Rank;

    /// <inheritdoc/>
    public override AdapterPlan Plan(IReadOnlyList<LinearModule> targets)
    {
        TargetChecks.RequireDistinct(Name, targets);
        int common = targets.Aggregate(0, (g, t) => Gcd(Gcd(g, t.InFeatures), t.OutFeatures));
        foreach (var t in targets)
        {
            RequireDivisible(t, "in_features", t.InFeatures, common);
            RequireDivisible(t, "out_features", t.OutFeatures, common);
        }
        var parameters = new List<TrainableTensor> { new(VbLoraNames.VectorBank, [H, Bl], VbLoraNames.BankGroup) };
        foreach (var t in targets)
        {
            parameters.Add(new(VbLoraNames.LogitsA(t.Path), [R, t.InFeatures / Bl, H], VbLoraNames.LogitsGroup));
            parameters.Add(new(VbLoraNames.LogitsB(t.Path), [t.OutFeatures / Bl, R, H], VbLoraNames.LogitsGroup));
        }
        return new AdapterPlan(Name, targets.ToArray(), R, parameters);
    }

    /// <summary>Bytes per stored top-k index: uint8 when h ≤ 256, int16 when h ≤ 2^15, else int32.</summary>
    public int IndexBytes => H <= 256 ? 1 : H <= 1 << 15 ? 2 : 4;

    /// <inheritdoc/>
    /// <remarks>The bank plus, per sub-vector, k indices and k−1 softmax weights (the last is 1 − Σ).</remarks>
    public override double StoredParameterCount(AdapterPlan plan)
    {
        RequireOwn(plan);
        long subVectors = plan.Targets.Sum(t => (long)R * (t.InFeatures / Bl) + (long)(t.OutFeatures / Bl) * R);
        return (double)H * Bl + subVectors * (Options.TopK - 1 + Options.TopK * IndexBytes / 4.0);
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, float[]> InitialValues(AdapterPlan plan)
    {
        RequireOwn(plan);
        var values = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var p in plan.Parameters)
        {
            var random = new SeededRandom(Options.Seed, p.Name);
            values[p.Name] = p.Group == VbLoraNames.BankGroup
                ? random.Uniform(p.ElementCount, -Options.InitVectorBankBound, Options.InitVectorBankBound)
                : random.Normal(p.ElementCount, Options.InitLogitsStd);
        }
        return values;
    }

    /// <inheritdoc/>
    public override IReadOnlyList<FactorValues> EmitFactors(AdapterPlan plan, GraphEmitter emitter)
    {
        RequireOwn(plan);
        return EmitFactorsFrom(plan, emitter, (g, logits, _, p, q) =>
            TopKAdmixture.Emit(g, logits, VbLoraNames.VectorBank, p, q, Options.TopK, Bl));
    }

    /// <summary>
    /// The composition from the stored form (DESIGN.md §2) instead of the logits: it reads graph values named as the
    /// adapter file's keys — the bank <see cref="VbLoraNames.StoredVectorBank"/> and, per logits tensor, its top-k
    /// indices and k−1 weights — so a serving model can take a stored adapter as its inputs.
    /// </summary>
    /// <returns>One entry per target, in <see cref="AdapterPlan.Targets"/> order.</returns>
    public IReadOnlyList<FactorValues> EmitStoredFactors(AdapterPlan plan, GraphEmitter emitter)
    {
        RequireOwn(plan);
        return EmitFactorsFrom(plan, emitter, (g, _, key, p, q) => TopKAdmixture.EmitStored(g,
            VbLoraNames.TopKIndices(key), VbLoraNames.TopKWeights(key), VbLoraNames.StoredVectorBank, p, q, Options.TopK, Bl));
    }

    // A and B of every target from its sub-vectors; `subVectors(g, logits name, stored key, p, q)` emits [p, q, b].
    List<FactorValues> EmitFactorsFrom(AdapterPlan plan, GraphEmitter emitter, Func<GraphEmitter, string, string, int, int, string> subVectors)
    {
        ArgumentNullException.ThrowIfNull(emitter);
        var factors = new List<FactorValues>(plan.Targets.Count);
        foreach (var t in plan.Targets)
        {
            GraphEmitter g = emitter.Nested(t.Path);
            int inBlocks = t.InFeatures / Bl, outBlocks = t.OutFeatures / Bl;
            string subA = subVectors(g.Nested("A"), VbLoraNames.LogitsA(t.Path), VbLoraNames.StoredLogitsA(t.Path), R, inBlocks); // [r, in/b, b]
            string a = g.Op("Reshape", [subA, g.Int64s("A_shape", R, t.InFeatures)]);          // [r, in]
            string subB = subVectors(g.Nested("B"), VbLoraNames.LogitsB(t.Path), VbLoraNames.StoredLogitsB(t.Path), outBlocks, R); // [out/b, r, b]
            string subBt = g.Op("Transpose", [subB], Ints("perm", 0, 2, 1));                  // [out/b, b, r]
            string b = g.Op("Reshape", [subBt, g.Int64s("B_shape", t.OutFeatures, R)]);        // [out, r]
            factors.Add(new FactorValues(t, a, b));
        }
        return factors;
    }

    /// <inheritdoc/>
    public override IReadOnlyList<LowRankFactors> ComputeFactors(AdapterPlan plan, IReadOnlyDictionary<string, float[]> parameters)
    {
        RequireOwn(plan);
        plan.CheckValues(parameters);
        float[] bank = parameters[VbLoraNames.VectorBank];
        var factors = new List<LowRankFactors>(plan.Targets.Count);
        foreach (var t in plan.Targets)
        {
            int inBlocks = t.InFeatures / Bl, outBlocks = t.OutFeatures / Bl;
            // sub_A [r, in/b, b] is A [r, in] in row-major order.
            float[] a = TopKAdmixture.Compute(parameters[VbLoraNames.LogitsA(t.Path)], R * inBlocks, bank, H, Bl, Options.TopK);
            float[] subB = TopKAdmixture.Compute(parameters[VbLoraNames.LogitsB(t.Path)], outBlocks * R, bank, H, Bl, Options.TopK);
            var b = new float[(long)t.OutFeatures * R];                                        // [out, r]
            for (int block = 0; block < outBlocks; block++)
                for (int rank = 0; rank < R; rank++)
                    for (int c = 0; c < Bl; c++)
                        b[((long)block * Bl + c) * R + rank] = subB[((long)block * R + rank) * Bl + c];
            factors.Add(new LowRankFactors(t, R, a, b));
        }
        return factors;
    }

    /// <inheritdoc/>
    /// <remarks>A zero bank: every sub-vector, whatever its top-k, is a mix of zero vectors.</remarks>
    protected override IEnumerable<string> ZeroedTensors(AdapterPlan plan) => [VbLoraNames.VectorBank];

    /// <inheritdoc/>
    protected override IReadOnlyList<SafeTensor> EncodeStored(AdapterPlan plan, IReadOnlyDictionary<string, float[]> values) =>
        VbLoraStoredForm.Encode(this, plan, values);

    /// <inheritdoc/>
    protected override Dictionary<string, float[]> DecodeStored(AdapterPlan plan, StoredTensors stored) =>
        VbLoraStoredForm.Decode(this, plan, stored);

    void RequireDivisible(LinearModule t, string what, int features, int commonDivisor)
    {
        if (features % Bl == 0)
            return;
        throw new AdapterException(
            $"{t.Path}: {what} {features} is not divisible by vector_length {Bl}; " +
            $"choose a vector length that divides {features}{(commonDivisor != features ? " and every other target dimension" : "")} " +
            $"(e.g. {SuggestedLengths(commonDivisor)}).");
    }

    // A power-of-two divisor of `common` below the configured length (the usual choice), else the nearest divisor
    // below, and the nearest divisor above.
    string SuggestedLengths(int common)
    {
        var divisors = Enumerable.Range(1, common).Where(d => common % d == 0).ToArray();
        var below = divisors.Where(d => d < Bl).ToArray();
        int? lower = below.Where(d => (d & (d - 1)) == 0).Cast<int?>().LastOrDefault() ?? below.Cast<int?>().LastOrDefault();
        int? upper = divisors.Where(d => d > Bl).Cast<int?>().FirstOrDefault();
        return string.Join(" or ", new[] { lower, upper }.OfType<int>().Select(d => d.ToString(CultureInfo.InvariantCulture)));
    }

    static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);
}
