using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters.Methods.Vera;

/// <summary>
/// VeRA (Kopiczko et al. 2024; DESIGN.md §2): one frozen random pair <c>vera_A [r, max_in]</c>, <c>vera_B [max_out, r]</c>
/// shared by every target (<see cref="VeraProjections"/>, drawn from <c>projection_prng_key</c> as PEFT draws them), and
/// per target two trainable vectors, <c>λ_d [r]</c> (starts at <c>d_initial</c>) and <c>λ_b [out]</c> (starts at 0, so
/// training starts at the base model). As PEFT's <c>vera.layer.Linear</c>: <c>A_t = diag(λ_d)·vera_A[:, :in]</c>,
/// <c>B_t = diag(λ_b)·vera_B[:out, :]</c>, and the output gains <c>λ_b ⊙ (B_sub·(λ_d ⊙ (A_sub·x)))</c> = <c>(x·A_tᵀ)·B_tᵀ</c>.
/// In the graph the shared pair is one constant each, sliced per target.
/// </summary>
public sealed class VeraMethod : AdapterMethod<VeraOptions>
{
    /// <summary>Creates the method; validates <paramref name="options"/>.</summary>
    /// <exception cref="UsageException">An option is out of range.</exception>
    public VeraMethod(VeraOptions options)
        : base(options, o => o.Validate())
    {
    }

    /// <inheritdoc/>
    public override AdapterMethodDescriptor Descriptor => VeraDescriptor.Instance;

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
            parameters.Add(new(VeraNames.LambdaD(t.Path), [R], VeraNames.Group));
            parameters.Add(new(VeraNames.LambdaB(t.Path), [t.OutFeatures], VeraNames.Group));
        }
        return new AdapterPlan(Name, targets.ToArray(), R, parameters);
    }

    /// <summary>The shared projections for <paramref name="plan"/>'s targets, regenerated from the seed.</summary>
    public VeraProjections Projections(AdapterPlan plan)
    {
        RequireOwn(plan);
        var (maxIn, maxOut) = VeraProjections.SharedShape(plan.Targets.Select(t => (t.InFeatures, t.OutFeatures)));
        return VeraProjections.Generate(Options.ProjectionSeed, R, maxIn, maxOut, Options.ProjectionArithmetic);
    }

    /// <inheritdoc/>
    /// <remarks>The λ vectors only; the projections are regenerated from the seed.</remarks>
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
            values[VeraNames.LambdaD(t.Path)] = Enumerable.Repeat((float)Options.DInitial, R).ToArray();
            values[VeraNames.LambdaB(t.Path)] = new float[t.OutFeatures];
        }
        return values;
    }

    /// <inheritdoc/>
    public override IReadOnlyList<FactorValues> EmitFactors(AdapterPlan plan, GraphEmitter emitter)
    {
        ArgumentNullException.ThrowIfNull(emitter);
        var projections = Projections(plan);
        string sharedA = emitter.Constant(Tensors.Float("", [R, projections.MaxIn], projections.A), VeraNames.SharedA);
        string sharedB = emitter.Constant(Tensors.Float("", [projections.MaxOut, R], projections.B), VeraNames.SharedB);
        var factors = new List<FactorValues>(plan.Targets.Count);
        foreach (var t in plan.Targets)
        {
            GraphEmitter g = emitter.Nested(t.Path);
            string a = Scaled(g, Leading(g, sharedA, axis: 1, t.InFeatures, projections.MaxIn), VeraNames.LambdaD(t.Path), R);       // [r, in]
            string b = Scaled(g, Leading(g, sharedB, axis: 0, t.OutFeatures, projections.MaxOut), VeraNames.LambdaB(t.Path), t.OutFeatures); // [out, r]
            factors.Add(new FactorValues(t, a, b));
        }
        return factors;
    }

    // The first `count` entries of `value` along `axis` (the value itself when that is all of it).
    static string Leading(GraphEmitter g, string value, int axis, int count, int full) =>
        count == full ? value : g.Op("Slice", [value, g.Int64s("starts", 0), g.Int64s("ends", count), g.Int64s("axes", axis)]);

    // diag(λ)·matrix: λ [rows] reshaped to [rows, 1] times matrix [rows, columns].
    static string Scaled(GraphEmitter g, string matrix, string lambda, int rows) =>
        g.Op("Mul", [matrix, g.Op("Reshape", [lambda, g.Int64s("column", rows, 1)])]);

    /// <inheritdoc/>
    public override IReadOnlyList<LowRankFactors> ComputeFactors(AdapterPlan plan, IReadOnlyDictionary<string, float[]> parameters)
    {
        plan.CheckValues(parameters);
        return FactorsFrom(plan, Projections(plan), parameters);
    }

    /// <summary>
    /// The factors with given shared projections (e.g. ones a PEFT directory saved) instead of regenerated ones.
    /// </summary>
    /// <exception cref="ArgumentException">The projections do not fit the plan's targets or rank.</exception>
    public IReadOnlyList<LowRankFactors> FactorsFrom(AdapterPlan plan, VeraProjections projections, IReadOnlyDictionary<string, float[]> parameters)
    {
        RequireOwn(plan);
        ArgumentNullException.ThrowIfNull(projections);
        if (projections.Rank != R)
            throw new ArgumentException($"the projections have rank {projections.Rank}, the method {R}", nameof(projections));
        return plan.Targets.Select(t => new LowRankFactors(t, R,
            VeraFactors.ScaledA(projections, parameters[VeraNames.LambdaD(t.Path)], t.InFeatures),
            VeraFactors.ScaledB(projections, parameters[VeraNames.LambdaB(t.Path)]))).ToList();
    }

    /// <inheritdoc/>
    /// <remarks>λ_b = 0 for every target (as at initialisation).</remarks>
    protected override IEnumerable<string> ZeroedTensors(AdapterPlan plan) => plan.Targets.Select(t => VeraNames.LambdaB(t.Path));

    /// <inheritdoc/>
    protected override IReadOnlyList<SafeTensor> EncodeStored(AdapterPlan plan, IReadOnlyDictionary<string, float[]> values) =>
        VeraStoredForm.Encode(this, plan, values);

    /// <inheritdoc/>
    protected override Dictionary<string, float[]> DecodeStored(AdapterPlan plan, StoredTensors stored) =>
        VeraStoredForm.Decode(this, plan, stored);
}
