using VbLoraOrt.Adapters.Files;

namespace VbLoraOrt.Adapters.Methods.UniLora;

/// <summary>
/// Uni-LoRA's stored form: θ <c>[d]</c> as F32 under PEFT's key; the projection is regenerated from the seed in the
/// method options (numpy's generator, as PEFT regenerates it), so θ and the options are the whole adapter.
/// </summary>
internal static class UniLoraStoredForm
{
    public static List<SafeTensor> Encode(UniLoraMethod method, IReadOnlyDictionary<string, float[]> values) =>
        [SafeTensor.F32(StoredTensorNames.Theta, [method.Options.ThetaLength], values[AdapterTensorNames.Theta])];

    public static Dictionary<string, float[]> Decode(UniLoraMethod method, StoredTensors stored) =>
        new(StringComparer.Ordinal) { [AdapterTensorNames.Theta] = stored.TakeFiniteFloats(StoredTensorNames.Theta, [method.Options.ThetaLength]) };
}
