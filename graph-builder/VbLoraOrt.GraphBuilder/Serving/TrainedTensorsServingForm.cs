using VbLoraOrt.Adapters;
using VbLoraOrt.Onnx;
using VbLoraOrt.OrtFormats.Adapters;

namespace VbLoraOrt.GraphBuilder.Serving;

/// <summary>
/// The serving form of a method whose stored form is its trained tensors (LoRA's A and B, Uni-LoRA's θ): the plan's
/// parameters, float, under their graph names, composed by the method's own subgraph (which bakes in any fixed
/// constants, such as Uni-LoRA's projection regenerated from the seed).
/// </summary>
sealed class TrainedTensorsServingForm(IAdapterMethod method) : ServingForm(method)
{
    /// <inheritdoc/>
    public override IReadOnlyList<OnnxAdapterParameter> Tensors(AdapterPlan plan, IReadOnlyDictionary<string, float[]> values)
    {
        ArgumentNullException.ThrowIfNull(plan);
        plan.CheckValues(values);
        return plan.Parameters.Select(p => OnnxAdapterParameter.Float(p.Name, p.Shape, values[p.Name])).ToList();
    }

    /// <inheritdoc/>
    public override IReadOnlyList<FactorValues> EmitFactors(AdapterPlan plan, GraphEmitter emitter) => Method.EmitFactors(plan, emitter);
}
