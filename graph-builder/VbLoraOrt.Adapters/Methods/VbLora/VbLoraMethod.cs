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
        : this(options, bank: null)
    {
    }

    VbLoraMethod(VbLoraOptions options, SharedBank? bank)
        : base(options, o => o.Validate())
    {
        if (bank != null && bank.Sha256 != options.SharedBankSha256)
            throw new BadInputException(
                $"the vector bank given has sha256 {SharedBank.Short(bank.Sha256)}, but this VB-LoRA adapter was trained against " +
                $"{SharedBank.Short(options.SharedBankSha256 ?? "a bank of its own")}; use the artifacts or bank it was trained with.");
        FrozenBank = bank;
    }

    /// <summary>
    /// The method with <paramref name="bank"/> frozen and shared (DESIGN.md §7.2): only the logits train, the bank is a
    /// constant of the graphs, and the options record its SHA-256.
    /// </summary>
    /// <exception cref="UsageException">The bank's shape is not <c>[num-vectors, vector-length]</c>.</exception>
    public static VbLoraMethod WithFrozenBank(VbLoraOptions options, SharedBank bank)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(bank);
        if (bank.NumVectors != options.NumVectors || bank.VectorLength != options.VectorLength)
            throw new UsageException(
                $"--frozen-bank holds a [{bank.NumVectors}, {bank.VectorLength}] bank, but --num-vectors {options.NumVectors} --vector-length {options.VectorLength} " +
                $"were asked for; pass --num-vectors {bank.NumVectors} --vector-length {bank.VectorLength}.");
        return new VbLoraMethod(new VbLoraOptions
        {
            NumVectors = options.NumVectors, VectorLength = options.VectorLength, Rank = options.Rank, TopK = options.TopK, Seed = options.Seed,
            InitVectorBankBound = options.InitVectorBankBound, InitLogitsStd = options.InitLogitsStd, Dropout = options.Dropout,
            SharedBankSha256 = bank.Sha256,
        }, bank);
    }

    /// <summary>True when the bank is frozen and shared: it is no parameter, and stored forms name it by hash.</summary>
    public bool UsesFrozenBank => Options.SharedBankSha256 != null;

    /// <summary>The frozen bank when <see cref="UsesFrozenBank"/> and it was given (prepare, or <see cref="WithArtifactFiles"/>).</summary>
    public SharedBank? FrozenBank { get; }

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
        var parameters = new List<TrainableTensor>();
        if (!UsesFrozenBank)
            parameters.Add(new(VbLoraNames.VectorBank, [H, Bl], VbLoraNames.BankGroup));
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
    /// <remarks>The bank (unless frozen and shared) plus, per sub-vector, k indices and k−1 softmax weights (the last is 1 − Σ).</remarks>
    public override double StoredParameterCount(AdapterPlan plan)
    {
        RequireOwn(plan);
        long subVectors = plan.Targets.Sum(t => (long)R * (t.InFeatures / Bl) + (long)(t.OutFeatures / Bl) * R);
        return (UsesFrozenBank ? 0 : (double)H * Bl) + subVectors * (Options.TopK - 1 + Options.TopK * IndexBytes / 4.0);
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
        string bank = BankValue(emitter, VbLoraNames.VectorBank);
        return EmitJoined(plan, emitter, VbLoraNames.LogitsA, VbLoraNames.LogitsB, (g, names, axis, p, q) =>
            TopKAdmixture.Emit(g, Joined(g, names, axis), bank, p, q, Options.TopK, Bl));
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
        string bank = BankValue(emitter, VbLoraNames.StoredVectorBank);
        return EmitJoined(plan, emitter, VbLoraNames.StoredLogitsA, VbLoraNames.StoredLogitsB, (g, keys, axis, p, q) =>
            TopKAdmixture.EmitStored(g, Joined(g, keys.Select(VbLoraNames.TopKIndices).ToList(), axis),
                Joined(g, keys.Select(VbLoraNames.TopKWeights).ToList(), axis), bank, p, q, Options.TopK, Bl));
    }

    // Every target's A and B from one composition for all targets (DESIGN.md §7.1): every target's A sub-vectors
    // joined along their sub-vector axis, one top-k admixture for all of them, and the same for B, then a slice per
    // factor — a few dozen nodes (forward and backward) instead of about forty per target, the same values row by row.
    // `subVectors(g, one name per target, axis, p, q)` joins the targets' tensors (named by `nameA` / `nameB` from a
    // target's path) along `axis` and emits their sub-vectors [p, q, b].
    List<FactorValues> EmitJoined(AdapterPlan plan, GraphEmitter emitter, Func<string, string> nameA, Func<string, string> nameB,
        Func<GraphEmitter, IReadOnlyList<string>, int, int, int, string> subVectors)
    {
        var targets = plan.Targets;
        // Every target's A sub-vectors at once: [r, Σ in/b, b], i.e. [r, Σ in], the targets side by side.
        GraphEmitter ga = emitter.Nested("A");
        int inBlocks = targets.Sum(t => t.InFeatures / Bl);
        string subA = subVectors(ga, targets.Select(t => nameA(t.Path)).ToList(), 1, R, inBlocks);
        string allA = ga.Op("Reshape", [subA, ga.Int64s("A_shape", R, inBlocks * Bl)]);                  // [r, Σ in]
        // And every B's: [Σ out/b, r, b] → [Σ out, r], the targets one above the other.
        GraphEmitter gb = emitter.Nested("B");
        int outBlocks = targets.Sum(t => t.OutFeatures / Bl);
        string subB = subVectors(gb, targets.Select(t => nameB(t.Path)).ToList(), 0, outBlocks, R);
        string subBt = gb.Op("Transpose", [subB], Ints("perm", 0, 2, 1));                                 // [Σ out/b, b, r]
        string allB = gb.Op("Reshape", [subBt, gb.Int64s("B_shape", outBlocks * Bl, R)]);               // [Σ out, r]

        var factors = new List<FactorValues>(targets.Count);
        long inStart = 0, outStart = 0;
        foreach (var t in targets)
        {
            GraphEmitter g = emitter.Nested(t.Path);
            string a = Part(g, allA, axis: 1, inStart, t.InFeatures, inBlocks * Bl);                     // [r, in]
            string b = Part(g, allB, axis: 0, outStart, t.OutFeatures, outBlocks * Bl);                 // [out, r]
            factors.Add(new FactorValues(t, a, b));
            inStart += t.InFeatures;
            outStart += t.OutFeatures;
        }
        return factors;
    }

    // The tensors `names` joined along `axis` (the one tensor itself when there is one).
    static string Joined(GraphEmitter g, IReadOnlyList<string> names, int axis) =>
        names.Count == 1 ? names[0] : g.Op("Concat", names, Int("axis", axis));

    // `count` entries of `value` (`total` along `axis`) from `start`; the value itself when that is all of it.
    static string Part(GraphEmitter g, string value, int axis, long start, long count, long total) =>
        start == 0 && count == total ? value
            : g.Op("Slice", [value, g.Int64s("starts", start), g.Int64s("ends", start + count), g.Int64s("axes", axis)]);

    // The graph value the composition reads the bank from: the parameter `trained` (an input), or the frozen bank as a
    // constant initializer, which the differentiator treats as any frozen weight (no gradient).
    string BankValue(GraphEmitter emitter, string trained)
    {
        ArgumentNullException.ThrowIfNull(emitter);
        return UsesFrozenBank ? emitter.Constant(Tensors.Float("", [H, Bl], RequireBank().Values), "frozen_vector_bank") : trained;
    }

    SharedBank RequireBank() => FrozenBank ?? throw new BadInputException(
        $"this VB-LoRA adapter was trained against a frozen shared bank (sha256 {SharedBank.Short(Options.SharedBankSha256!)}) that its file does not hold; " +
        $"merge, evaluate or serve it through the artifact folder prepared with that bank (`vblora-graph prepare --frozen-bank`).");

    /// <inheritdoc/>
    public override IReadOnlyList<LowRankFactors> ComputeFactors(AdapterPlan plan, IReadOnlyDictionary<string, float[]> parameters)
    {
        RequireOwn(plan);
        plan.CheckValues(parameters);
        float[] bank = UsesFrozenBank ? RequireBank().Values : parameters[VbLoraNames.VectorBank];
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
    protected override IEnumerable<string> ZeroedTensors(AdapterPlan plan) => UsesFrozenBank
        ? throw new BadInputException(
            "a VB-LoRA adapter on a frozen shared bank has no zero update (its sub-vectors always mix bank vectors); " +
            "train a head-only baseline from artifacts prepared without --frozen-bank.")
        : [VbLoraNames.VectorBank];

    /// <inheritdoc/>
    /// <remarks>The frozen shared bank as <see cref="SharedBank.FileName"/>, when there is one.</remarks>
    public override IReadOnlyList<string> WriteArtifactFiles(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!UsesFrozenBank)
            return [];
        RequireBank().Write(Path.Combine(directory, SharedBank.FileName));
        return [SharedBank.FileName];
    }

    /// <inheritdoc/>
    public override IAdapterMethod WithArtifactFiles(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!UsesFrozenBank || FrozenBank != null)
            return this;
        string path = Path.Combine(directory, SharedBank.FileName);
        if (!File.Exists(path))
            throw new BadInputException(
                $"{directory}: holds no {SharedBank.FileName}, but this VB-LoRA adapter was trained against a frozen shared bank " +
                $"(sha256 {SharedBank.Short(Options.SharedBankSha256!)}); use the artifact folder prepared with that bank.");
        var bank = SharedBank.Read(path);
        if (bank.Sha256 != Options.SharedBankSha256)
            throw new BadInputException(
                $"{path}: holds the bank sha256 {SharedBank.Short(bank.Sha256)}, but the adapter was trained against sha256 " +
                $"{SharedBank.Short(Options.SharedBankSha256!)}; use the artifact folder prepared with the adapter's bank.");
        return new VbLoraMethod(Options, bank);
    }

    /// <inheritdoc/>
    /// <remarks>Exactly the stored form (<see cref="AdapterMethod{TOptions}.Encode"/>): the bank unless it is frozen and shared, then the top-k per logits tensor.</remarks>
    public override IReadOnlyList<SafeTensor> ServingTensors(AdapterPlan plan, IReadOnlyDictionary<string, float[]> values) => Encode(plan, values);

    /// <inheritdoc/>
    public override IReadOnlyList<FactorValues> EmitServingFactors(AdapterPlan plan, GraphEmitter emitter) => EmitStoredFactors(plan, emitter);

    /// <inheritdoc/>
    /// <remarks>With a frozen shared bank there is no zero update: the defaults are the initial logits' top-k.</remarks>
    public override IReadOnlyList<SafeTensor> ServingDefaults(AdapterPlan plan) =>
        UsesFrozenBank ? ServingTensors(plan, InitialValues(plan)) : base.ServingDefaults(plan);

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
