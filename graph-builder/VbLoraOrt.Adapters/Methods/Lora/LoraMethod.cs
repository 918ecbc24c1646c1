using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters.Methods.Lora;

/// <summary>
/// LoRA (Hu et al. 2021), the family's reference method: per target, trainable <c>A: [r, in]</c> and
/// <c>B: [out, r]</c>, and the output gains <c>(α/r)·(x·Aᵀ)·Bᵀ</c>. Initialised as PEFT does: A from torch's
/// <c>kaiming_uniform_(a=√5)</c>, i.e. U(−1/√in, 1/√in), and B zero, so training starts at the base model.
/// The scale α/r is folded into the emitted B; stored and trained B are unscaled, as in PEFT.
/// </summary>
public sealed class LoraMethod : AdapterMethod<LoraOptions>
{
    /// <summary>Creates the method; validates <paramref name="options"/>.</summary>
    /// <exception cref="UsageException">An option is out of range.</exception>
    public LoraMethod(LoraOptions options)
        : base(options, o => o.Validate())
    {
    }

    /// <inheritdoc/>
    public override AdapterMethodDescriptor Descriptor => LoraDescriptor.Instance;

    /// <inheritdoc/>
    public override bool StoredFormTrainable => true;

    int R => Options.Rank;

    /// <inheritdoc/>
    public override AdapterPlan Plan(IReadOnlyList<LinearModule> targets)
    {
        TargetChecks.RequireDistinct(Name, targets);
        var parameters = new List<TrainableTensor>();
        foreach (var t in targets)
        {
            parameters.Add(new(LoraNames.A(t.Path), [R, t.InFeatures], LoraNames.Group));
            parameters.Add(new(LoraNames.B(t.Path), [t.OutFeatures, R], LoraNames.Group));
        }
        return new AdapterPlan(Name, targets.ToArray(), R, parameters);
    }

    /// <inheritdoc/>
    public override double StoredParameterCount(AdapterPlan plan)
    {
        RequireOwn(plan);
        return plan.ParameterCount;
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, float[]> InitialValues(AdapterPlan plan)
    {
        RequireOwn(plan);
        var values = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var t in plan.Targets)
        {
            double bound = 1 / Math.Sqrt(t.InFeatures);
            values[LoraNames.A(t.Path)] = new SeededRandom(Options.Seed, LoraNames.A(t.Path)).Uniform((long)R * t.InFeatures, -bound, bound);
            values[LoraNames.B(t.Path)] = new float[(long)t.OutFeatures * R];
        }
        return values;
    }

    /// <inheritdoc/>
    public override IReadOnlyList<FactorValues> EmitFactors(AdapterPlan plan, GraphEmitter emitter)
    {
        RequireOwn(plan);
        ArgumentNullException.ThrowIfNull(emitter);
        var factors = new List<FactorValues>(plan.Targets.Count);
        foreach (var t in plan.Targets)
        {
            string b = LoraNames.B(t.Path);
            if (Options.Scaling != 1)
                b = emitter.Nested(t.Path).Op("Mul", [b, emitter.Scalar(Options.Scaling, hint: "lora_scaling")]);
            factors.Add(new FactorValues(t, LoraNames.A(t.Path), b));
        }
        return factors;
    }

    /// <inheritdoc/>
    public override IReadOnlyList<LowRankFactors> ComputeFactors(AdapterPlan plan, IReadOnlyDictionary<string, float[]> parameters)
    {
        RequireOwn(plan);
        plan.CheckValues(parameters);
        float scaling = (float)Options.Scaling;
        return plan.Targets.Select(t => new LowRankFactors(t, R,
            parameters[LoraNames.A(t.Path)],
            parameters[LoraNames.B(t.Path)].Select(v => v * scaling).ToArray())).ToList();
    }

    /// <inheritdoc/>
    /// <remarks>B = 0 for every target (as at initialisation).</remarks>
    protected override IEnumerable<string> ZeroedTensors(AdapterPlan plan) => plan.Targets.Select(t => LoraNames.B(t.Path));

    /// <inheritdoc/>
    protected override IReadOnlyList<SafeTensor> EncodeStored(AdapterPlan plan, IReadOnlyDictionary<string, float[]> values) =>
        LoraStoredForm.Encode(this, plan, values);

    /// <inheritdoc/>
    protected override Dictionary<string, float[]> DecodeStored(AdapterPlan plan, StoredTensors stored) =>
        LoraStoredForm.Decode(this, plan, stored);
}
