using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters.Methods.UniLora;

/// <summary>
/// Uni-LoRA (DESIGN.md §2): every entry of every target's A <c>[r, in]</c> and B <c>[out, r]</c>, flattened in target
/// order (A then B, row-major) into a vector of length D, is one trainable value <c>θ[j]</c> times its column's scale,
/// through the fixed isometric <see cref="UniLoraProjection"/>. One vector θ <c>[d]</c> is the whole adapter; the
/// projection is regenerated from its seed. In the graph each factor is <c>Gather(θ, indices) ⊙ scales</c> with
/// both as constants, computed once per step.
/// </summary>
public sealed class UniLoraMethod : AdapterMethod<UniLoraOptions>
{
    /// <summary>Creates the method; validates <paramref name="options"/>.</summary>
    /// <exception cref="UsageException">An option is out of range.</exception>
    public UniLoraMethod(UniLoraOptions options)
        : base(options, o => o.Validate())
    {
    }

    /// <inheritdoc/>
    public override AdapterMethodDescriptor Descriptor => UniLoraDescriptor.Instance;

    /// <inheritdoc/>
    public override bool StoredFormTrainable => true;

    int R => Options.Rank;

    /// <summary>D: the number of LoRA entries the projection fills for <paramref name="targets"/>.</summary>
    public long LoraEntries(IReadOnlyList<LinearModule> targets) => targets.Sum(t => (long)R * (t.InFeatures + t.OutFeatures));

    /// <inheritdoc/>
    public override AdapterPlan Plan(IReadOnlyList<LinearModule> targets)
    {
        TargetChecks.RequireDistinct(Name, targets);
        long entries = LoraEntries(targets);
        if (Options.ThetaLength > entries)
            throw new AdapterException(
                $"{Name}: theta length {Options.ThetaLength} exceeds the {entries} LoRA entries (r {R}) of the {targets.Count} targets; choose at most {entries}.");
        return new AdapterPlan(Name, targets.ToArray(), R, [new(UniLoraNames.Theta, [Options.ThetaLength], UniLoraNames.Group)]);
    }

    /// <inheritdoc/>
    public override double StoredParameterCount(AdapterPlan plan)
    {
        RequireOwn(plan);
        return Options.ThetaLength;
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, float[]> InitialValues(AdapterPlan plan)
    {
        RequireOwn(plan);
        return new Dictionary<string, float[]>(StringComparer.Ordinal)
        {
            [UniLoraNames.Theta] = new SeededRandom(Options.Seed, UniLoraNames.Theta)
                .Uniform(Options.ThetaLength, -Options.InitThetaBound, Options.InitThetaBound),
        };
    }

    /// <summary>The projection for <paramref name="plan"/>'s targets.</summary>
    public UniLoraProjection Projection(AdapterPlan plan)
    {
        RequireOwn(plan);
        return UniLoraProjection.Create(LoraEntries(plan.Targets), Options.ThetaLength, (ulong)Options.ProjectionSeed);
    }

    /// <inheritdoc/>
    public override IReadOnlyList<FactorValues> EmitFactors(AdapterPlan plan, GraphEmitter emitter)
    {
        ArgumentNullException.ThrowIfNull(emitter);
        var projection = Projection(plan);
        var factors = new List<FactorValues>(plan.Targets.Count);
        long offset = 0;
        foreach (var t in plan.Targets)
        {
            GraphEmitter g = emitter.Nested(t.Path);
            string a = Factor(g, "A", projection, ref offset, R, t.InFeatures);
            string b = Factor(g, "B", projection, ref offset, t.OutFeatures, R);
            factors.Add(new FactorValues(t, a, b));
        }
        return factors;
    }

    // θ[indices] ⊙ scales for the next rows × columns entries of the flat vector.
    static string Factor(GraphEmitter g, string name, UniLoraProjection projection, ref long offset, int rows, int columns)
    {
        long count = (long)rows * columns;
        long[] indices = projection.Index.AsSpan((int)offset, (int)count).ToArray();
        float[] scales = indices.Select(j => projection.Scale[j]).ToArray();
        offset += count;
        string gathered = g.Op("Gather", [UniLoraNames.Theta, g.Constant(Tensors.Int64("", [rows, columns], indices), $"{name}_indices")],
            Attr.Int("axis", 0));
        return g.Op("Mul", [gathered, g.Constant(Tensors.Float("", [rows, columns], scales), $"{name}_scales")]);
    }

    /// <inheritdoc/>
    public override IReadOnlyList<LowRankFactors> ComputeFactors(AdapterPlan plan, IReadOnlyDictionary<string, float[]> parameters)
    {
        plan.CheckValues(parameters);
        var projection = Projection(plan);
        float[] theta = parameters[UniLoraNames.Theta];
        var factors = new List<LowRankFactors>(plan.Targets.Count);
        long offset = 0;
        float[] Take(long count)
        {
            var values = new float[count];
            for (long i = 0; i < count; i++)
            {
                long j = projection.Index[offset + i];
                values[i] = theta[j] * projection.Scale[j];
            }
            offset += count;
            return values;
        }
        foreach (var t in plan.Targets)
        {
            float[] a = Take((long)R * t.InFeatures);
            float[] b = Take((long)t.OutFeatures * R);
            factors.Add(new LowRankFactors(t, R, a, b));
        }
        return factors;
    }

    /// <inheritdoc/>
    /// <remarks>θ = 0: every A and B entry is a scaled entry of θ.</remarks>
    protected override IEnumerable<string> ZeroedTensors(AdapterPlan plan) => [UniLoraNames.Theta];

    /// <inheritdoc/>
    protected override IReadOnlyList<SafeTensor> EncodeStored(AdapterPlan plan, IReadOnlyDictionary<string, float[]> values) =>
        UniLoraStoredForm.Encode(this, values);

    /// <inheritdoc/>
    protected override Dictionary<string, float[]> DecodeStored(AdapterPlan plan, StoredTensors stored) =>
        UniLoraStoredForm.Decode(this, stored);
}
