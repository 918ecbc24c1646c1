using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Methods.VbLora;
using VbLoraOrt.Onnx;
using VbLoraOrt.OrtFormats.Adapters;

namespace VbLoraOrt.GraphBuilder.Serving;

/// <summary>
/// How one method's adapter enters a serving model (DESIGN.md §7.1): the tensors an adapter file holds — graph inputs
/// of the serving model of the same names, dtypes and shapes — and the composition that turns them into every
/// target's A and B. The model's defaults for those inputs are the tensors of the zero update, so it runs (as the base
/// model) without an adapter.
/// </summary>
public abstract class ServingForm
{
    /// <summary>A form for <paramref name="method"/>.</summary>
    protected ServingForm(IAdapterMethod method)
    {
        ArgumentNullException.ThrowIfNull(method);
        Method = method;
    }

    /// <summary>The configured method.</summary>
    public IAdapterMethod Method { get; }

    /// <summary>
    /// The form of <paramref name="method"/>: VB-LoRA's stored top-k form; the trained tensors themselves for a method
    /// whose stored form is trainable (LoRA: A and B; Uni-LoRA: θ, its projection baked into the graph).
    /// </summary>
    /// <exception cref="BadInputException">The method has no serving form.</exception>
    public static ServingForm For(IAdapterMethod method) => method switch
    {
        VbLoraMethod vblora => new VbLoraServingForm(vblora),
        { StoredFormTrainable: true } => new TrainedTensorsServingForm(method),
        null => throw new ArgumentNullException(nameof(method)),
        _ => throw new BadInputException($"method '{method.Name}' has no serving form: export a merged model (--merged) instead."),
    };

    /// <summary>The adapter part's tensors for <paramref name="values"/> (every parameter of <paramref name="plan"/>).</summary>
    public abstract IReadOnlyList<OnnxAdapterParameter> Tensors(AdapterPlan plan, IReadOnlyDictionary<string, float[]> values);

    /// <summary>Emits the composition reading the graph values named as <see cref="Tensors"/> names them.</summary>
    public abstract IReadOnlyList<FactorValues> EmitFactors(AdapterPlan plan, GraphEmitter emitter);

    /// <summary>The tensors of an adapter that adds nothing (ΔW = 0 for every target): the serving model's defaults.</summary>
    public IReadOnlyList<OnnxAdapterParameter> ZeroTensors(AdapterPlan plan) =>
        Tensors(plan, Method.ZeroUpdate(plan, Method.InitialValues(plan)));
}
