using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Methods.VbLora;
using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Onnx;
using VbLoraOrt.OrtFormats.Adapters;

namespace VbLoraOrt.GraphBuilder.Serving;

/// <summary>
/// VB-LoRA's serving form: exactly its stored form (DESIGN.md §2) — the bank, and per logits tensor its top-k indices
/// (uint8/int16/int32, widened in the graph) and k−1 weights — under the adapter file's key names, composed by
/// <see cref="VbLoraMethod.EmitStoredFactors"/>.
/// </summary>
sealed class VbLoraServingForm(VbLoraMethod method) : ServingForm(method)
{
    /// <inheritdoc/>
    public override IReadOnlyList<OnnxAdapterParameter> Tensors(AdapterPlan plan, IReadOnlyDictionary<string, float[]> values) =>
        Method.Encode(plan, values).Select(ToParameter).ToList();

    /// <inheritdoc/>
    public override IReadOnlyList<FactorValues> EmitFactors(AdapterPlan plan, GraphEmitter emitter) => method.EmitStoredFactors(plan, emitter);

    static OnnxAdapterParameter ToParameter(SafeTensor tensor) =>
        OnnxAdapterParameter.Create(tensor.Name, tensor.Shape, OnnxType(tensor.DType), tensor.Data);

    static int OnnxType(string dtype) => (int)(dtype switch
    {
        "F32" => global::Onnx.TensorProto.Types.DataType.Float,
        "U8" => global::Onnx.TensorProto.Types.DataType.Uint8,
        "I16" => global::Onnx.TensorProto.Types.DataType.Int16,
        "I32" => global::Onnx.TensorProto.Types.DataType.Int32,
        "I64" => global::Onnx.TensorProto.Types.DataType.Int64,
        _ => throw new InvalidOperationException($"VB-LoRA's stored form has no {dtype} tensors."),
    });
}
