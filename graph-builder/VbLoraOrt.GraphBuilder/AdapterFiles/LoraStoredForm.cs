using VbLoraOrt.GraphBuilder.Adapters;
using VbLoraOrt.GraphBuilder.Adapters.Lora;

namespace VbLoraOrt.GraphBuilder.AdapterFiles;

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
            tensors.Add(new(StoredTensorNames.LoraA(t.Path), "F32", [method.Options.Rank, t.InFeatures], VbLoraStoredForm.FloatBytes(values[AdapterTensorNames.LoraA(t.Path)])));
            tensors.Add(new(StoredTensorNames.LoraB(t.Path), "F32", [t.OutFeatures, method.Options.Rank], VbLoraStoredForm.FloatBytes(values[AdapterTensorNames.LoraB(t.Path)])));
        }
        return tensors;
    }

    /// <summary>The plan's parameter values read back from the stored tensors (dtypes and shapes checked).</summary>
    public static Dictionary<string, float[]> Decode(LoraMethod method, AdapterPlan plan, StoredTensors stored)
    {
        var values = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var t in plan.Targets)
        {
            values[AdapterTensorNames.LoraA(t.Path)] = Finite(stored, StoredTensorNames.LoraA(t.Path),
                VbLoraStoredForm.Floats(stored.Take(StoredTensorNames.LoraA(t.Path), "F32", [method.Options.Rank, t.InFeatures])));
            values[AdapterTensorNames.LoraB(t.Path)] = Finite(stored, StoredTensorNames.LoraB(t.Path),
                VbLoraStoredForm.Floats(stored.Take(StoredTensorNames.LoraB(t.Path), "F32", [t.OutFeatures, method.Options.Rank])));
        }
        return values;
    }

    static float[] Finite(StoredTensors stored, string key, float[] values)
    {
        int bad = Array.FindIndex(values, v => !float.IsFinite(v));
        return bad < 0 ? values : throw stored.Bad($"tensor '{key}' holds a non-finite value ({values[bad]}) at element {bad}");
    }
}
