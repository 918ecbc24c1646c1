using VbLoraOrt.Adapters.Storage;

namespace VbLoraOrt.Adapters.Methods.Lora;

/// <summary>
/// LoRA's stored form: per target, A <c>[r, in]</c> and B <c>[out, r]</c> as F32 under PEFT's keys
/// (<c>base_model.model.&lt;path&gt;.lora_A.weight</c>, <c>….lora_B.weight</c>); B is unscaled, the α/r scale lives in
/// the method options. The values are the trained ones, so a loaded LoRA adapter can be trained further.
/// </summary>
internal static class LoraStoredForm
{
    /// <summary>The stored tensors of the adapter part, A then B per target.</summary>
    public static List<SafeTensor> Encode(LoraMethod method, AdapterPlan plan, IReadOnlyDictionary<string, float[]> values)
    {
        var tensors = new List<SafeTensor>();
        foreach (var t in plan.Targets)
        {
            tensors.Add(SafeTensor.F32(LoraNames.StoredA(t.Path), [method.Options.Rank, t.InFeatures], values[LoraNames.A(t.Path)]));
            tensors.Add(SafeTensor.F32(LoraNames.StoredB(t.Path), [t.OutFeatures, method.Options.Rank], values[LoraNames.B(t.Path)]));
        }
        return tensors;
    }

    /// <summary>The plan's parameter values read back from the stored tensors (dtypes and shapes checked).</summary>
    public static Dictionary<string, float[]> Decode(LoraMethod method, AdapterPlan plan, StoredTensors stored)
    {
        var values = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var t in plan.Targets)
        {
            values[LoraNames.A(t.Path)] = stored.TakeFiniteFloats(LoraNames.StoredA(t.Path), [method.Options.Rank, t.InFeatures]);
            values[LoraNames.B(t.Path)] = stored.TakeFiniteFloats(LoraNames.StoredB(t.Path), [t.OutFeatures, method.Options.Rank]);
        }
        return values;
    }
}
