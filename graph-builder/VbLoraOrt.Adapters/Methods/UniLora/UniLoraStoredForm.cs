using VbLoraOrt.Adapters.Storage;

namespace VbLoraOrt.Adapters.Methods.UniLora;

/// <summary>
/// Uni-LoRA's stored form: θ <c>[d]</c> as F32 under PEFT's key; the projection is regenerated from the seed in the
/// method options (numpy's generator, as PEFT regenerates it), so θ and the options are the whole adapter.
/// </summary>
internal static class UniLoraStoredForm
{
    public static List<SafeTensor> Encode(UniLoraMethod method, IReadOnlyDictionary<string, float[]> values) =>
        [SafeTensor.F32(UniLoraNames.StoredTheta, [method.Options.ThetaLength], values[UniLoraNames.Theta])];

    public static Dictionary<string, float[]> Decode(UniLoraMethod method, StoredTensors stored) =>
        new(StringComparer.Ordinal) { [UniLoraNames.Theta] = stored.TakeFiniteFloats(UniLoraNames.StoredTheta, [method.Options.ThetaLength]) };
}
