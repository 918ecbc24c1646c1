using System.Text.Json;
using System.Text.Json.Nodes;
using VbLoraOrt.Adapters;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.GraphBuilder.Serving;

/// <summary>
/// The number an <c>.onnx_adapter</c> carries in ONNX Runtime's <c>model_version</c> field and a serving folder records
/// (DESIGN.md §7.1): 31 bits of the SHA-256 of the method and its options, so an adapter whose tensors have the right
/// names, dtypes and shapes but a different meaning — a VB-LoRA adapter trained against another shared bank, a LoRA
/// adapter with another α, a projection from another seed — is refused at load. The initial-value seed is left out
/// (<see cref="AdapterMeaning"/>): it does not change what a trained adapter means.
/// </summary>
public static class ServingModelVersion
{
    /// <summary>The version of <paramref name="method"/>'s adapters: never 0 (0 marks files and folders that record none).</summary>
    public static int Of(IAdapterMethod method)
    {
        ArgumentNullException.ThrowIfNull(method);
        var options = JsonNode.Parse(method.SaveOptions().GetRawText())!.AsObject();
        options.Remove(AdapterMeaning.InitialValueSeed);
        byte[] hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(
            method.Name + "\n" + options.ToJsonString(new JsonSerializerOptions { WriteIndented = false })));
        int version = BitConverter.ToInt32(hash, 0) & int.MaxValue;
        return version == 0 ? 1 : version;
    }
}
