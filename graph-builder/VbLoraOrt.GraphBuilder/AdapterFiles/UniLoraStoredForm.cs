using VbLoraOrt.GraphBuilder.Adapters;
using VbLoraOrt.GraphBuilder.Adapters.UniLora;

namespace VbLoraOrt.GraphBuilder.AdapterFiles;

/// <summary>
/// Uni-LoRA's stored form: θ <c>[d]</c> as F32 under PEFT's key; the projection is regenerated from the seed in the
/// method options (numpy's generator, as PEFT regenerates it), so θ and the options are the whole adapter.
/// </summary>
internal static class UniLoraStoredForm
{
    public static List<SafeTensor> Encode(UniLoraMethod method, IReadOnlyDictionary<string, float[]> values) =>
        [new(StoredTensorNames.Theta, "F32", [method.Options.ThetaLength], VbLoraStoredForm.FloatBytes(values[AdapterTensorNames.Theta]))];

    public static Dictionary<string, float[]> Decode(UniLoraMethod method, StoredTensors stored)
    {
        float[] theta = VbLoraStoredForm.Floats(stored.Take(StoredTensorNames.Theta, "F32", [method.Options.ThetaLength]));
        int bad = Array.FindIndex(theta, v => !float.IsFinite(v));
        if (bad >= 0)
            throw stored.Bad($"tensor '{StoredTensorNames.Theta}' holds a non-finite value ({theta[bad]}) at element {bad}");
        return new Dictionary<string, float[]>(StringComparer.Ordinal) { [AdapterTensorNames.Theta] = theta };
    }
}
