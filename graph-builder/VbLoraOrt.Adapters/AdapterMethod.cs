using System.Text.Json;
using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters;

/// <summary>
/// What every method shares around its own maths: the validated options and their saved form, the name from the
/// descriptor, the check that a plan is the method's own, and the zero update and stored form wrapped in those checks.
/// A method supplies the maths (plan, initial values, composition in ONNX and in C#), which tensors to zero, and how
/// its stored form is written and read.
/// </summary>
/// <typeparam name="TOptions">The method's options class.</typeparam>
public abstract class AdapterMethod<TOptions> : IAdapterMethod where TOptions : class
{
    /// <summary>Validates and keeps <paramref name="options"/>.</summary>
    /// <param name="options">The configuration.</param>
    /// <param name="validate">The options class's own check (throws naming the option).</param>
    /// <exception cref="UsageException">An option is out of range.</exception>
    protected AdapterMethod(TOptions options, Action<TOptions> validate)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(validate);
        validate(options);
        Options = options;
    }

    /// <summary>The validated configuration.</summary>
    public TOptions Options { get; }

    /// <inheritdoc/>
    public abstract AdapterMethodDescriptor Descriptor { get; }

    /// <inheritdoc/>
    public string Name => Descriptor.Name;

    /// <inheritdoc/>
    public JsonElement SaveOptions() => MethodOptionsJson.Save(Options);

    /// <inheritdoc/>
    public abstract bool StoredFormTrainable { get; }

    /// <inheritdoc/>
    public abstract AdapterPlan Plan(IReadOnlyList<LinearModule> targets);

    /// <inheritdoc/>
    public abstract IReadOnlyDictionary<string, float[]> InitialValues(AdapterPlan plan);

    /// <inheritdoc/>
    public abstract IReadOnlyList<FactorValues> EmitFactors(AdapterPlan plan, GraphEmitter emitter);

    /// <inheritdoc/>
    public abstract IReadOnlyList<LowRankFactors> ComputeFactors(AdapterPlan plan, IReadOnlyDictionary<string, float[]> parameters);

    /// <inheritdoc/>
    public abstract double StoredParameterCount(AdapterPlan plan);

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, float[]> ZeroUpdate(AdapterPlan plan, IReadOnlyDictionary<string, float[]> values)
    {
        RequireOwn(plan);
        plan.CheckValues(values);
        var zeroed = new Dictionary<string, float[]>(values, StringComparer.Ordinal);
        foreach (string name in ZeroedTensors(plan))
            zeroed[name] = new float[values[name].Length];
        return zeroed;
    }

    /// <inheritdoc/>
    public IReadOnlyList<SafeTensor> Encode(AdapterPlan plan, IReadOnlyDictionary<string, float[]> values)
    {
        RequireOwn(plan);
        plan.CheckValues(values);
        return EncodeStored(plan, values);
    }

    /// <inheritdoc/>
    public Dictionary<string, float[]> Decode(AdapterPlan plan, StoredTensors stored)
    {
        RequireOwn(plan);
        ArgumentNullException.ThrowIfNull(stored);
        return DecodeStored(plan, stored);
    }

    /// <summary>The tensors that, set to zero, make ΔW = 0 for every target (<see cref="ZeroUpdate"/>).</summary>
    protected abstract IEnumerable<string> ZeroedTensors(AdapterPlan plan);

    /// <summary>The stored form of checked values (<see cref="Encode"/>).</summary>
    protected abstract IReadOnlyList<SafeTensor> EncodeStored(AdapterPlan plan, IReadOnlyDictionary<string, float[]> values);

    /// <summary>The values rebuilt from a stored form (<see cref="Decode"/>).</summary>
    protected abstract Dictionary<string, float[]> DecodeStored(AdapterPlan plan, StoredTensors stored);

    /// <summary>Throws unless <paramref name="plan"/> is what this method, as configured, plans for its targets.</summary>
    protected void RequireOwn(AdapterPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        plan.RequireMadeBy(this);
    }

    /// <inheritdoc/>
    /// <remarks>None: most methods need nothing beside their graphs.</remarks>
    public virtual IReadOnlyList<string> WriteArtifactFiles(string directory) => [];

    /// <inheritdoc/>
    public virtual IAdapterMethod WithArtifactFiles(string directory) => this;

    /// <inheritdoc/>
    /// <remarks>The trained tensors under their graph names, F32, for a method whose stored form is trainable.</remarks>
    public virtual IReadOnlyList<SafeTensor> ServingTensors(AdapterPlan plan, IReadOnlyDictionary<string, float[]> values)
    {
        RequireOwn(plan);
        plan.CheckValues(values);
        if (!StoredFormTrainable)
            throw new BadInputException($"method '{Name}' has no serving form: export a merged model (--merged) instead.");
        return plan.Parameters.Select(p => SafeTensor.F32(p.Name, p.Shape, values[p.Name])).ToList();
    }

    /// <inheritdoc/>
    public virtual IReadOnlyList<FactorValues> EmitServingFactors(AdapterPlan plan, GraphEmitter emitter) => EmitFactors(plan, emitter);

    /// <inheritdoc/>
    public virtual IReadOnlyList<SafeTensor> ServingDefaults(AdapterPlan plan) => ServingTensors(plan, ZeroUpdate(plan, InitialValues(plan)));
}
