using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Onnx;
using VbLoraOrt.OrtFormats.Adapters;

namespace VbLoraOrt.GraphBuilder.Serving;

/// <summary>
/// How one method's adapter enters a serving model (DESIGN.md §7.1): the tensors an adapter file holds — graph inputs
/// of the serving model of the same names, dtypes and shapes — and the composition that turns them into every
/// target's A and B. Both are the method's own (<see cref="IAdapterMethod.ServingTensors"/>,
/// <see cref="IAdapterMethod.EmitServingFactors"/>); this type only gives them ONNX Runtime's adapter types. The
/// model's defaults for those inputs are <see cref="IAdapterMethod.ServingDefaults"/>.
/// </summary>
public sealed class ServingForm
{
    ServingForm(IAdapterMethod method) => Method = method;

    /// <summary>The configured method.</summary>
    public IAdapterMethod Method { get; }

    /// <summary>The form of <paramref name="method"/>.</summary>
    public static ServingForm For(IAdapterMethod method)
    {
        ArgumentNullException.ThrowIfNull(method);
        return new ServingForm(method);
    }

    /// <summary>The adapter part's tensors for <paramref name="values"/> (every parameter of <paramref name="plan"/>).</summary>
    /// <exception cref="BadInputException">The method has no serving form.</exception>
    public IReadOnlyList<OnnxAdapterParameter> Tensors(AdapterPlan plan, IReadOnlyDictionary<string, float[]> values) =>
        Method.ServingTensors(plan, values).Select(ToParameter).ToList();

    /// <summary>Emits the composition reading the graph values named as <see cref="Tensors"/> names them.</summary>
    public IReadOnlyList<FactorValues> EmitFactors(AdapterPlan plan, GraphEmitter emitter) => Method.EmitServingFactors(plan, emitter);

    /// <summary>The serving model's defaults for the adapter inputs (the zero update where the method has one).</summary>
    public IReadOnlyList<OnnxAdapterParameter> ZeroTensors(AdapterPlan plan) => Method.ServingDefaults(plan).Select(ToParameter).ToList();

    static OnnxAdapterParameter ToParameter(SafeTensor tensor) =>
        OnnxAdapterParameter.Create(tensor.Name, tensor.Shape, OnnxType(tensor.DType), tensor.Data);

    static int OnnxType(string dtype) => (int)(dtype switch
    {
        "F32" => global::Onnx.TensorProto.Types.DataType.Float,
        "U8" => global::Onnx.TensorProto.Types.DataType.Uint8,
        "I16" => global::Onnx.TensorProto.Types.DataType.Int16,
        "I32" => global::Onnx.TensorProto.Types.DataType.Int32,
        "I64" => global::Onnx.TensorProto.Types.DataType.Int64,
        _ => throw new InvalidOperationException($"a serving tensor of dtype {dtype} has no ONNX type here."),
    });
}
