namespace VbLoraOrt.Adapters.Methods.Lora;

/// <summary>LoRA's names: trainable tensors, adapter-file keys (PEFT's) and its parameter group.</summary>
public static class LoraNames
{
    /// <summary>A of module <paramref name="path"/>: <c>[r, in]</c>.</summary>
    public static string A(string path) => $"lora_A.{path}";

    /// <summary>B of module <paramref name="path"/>: <c>[out, r]</c> (unscaled; the graph applies α/r).</summary>
    public static string B(string path) => $"lora_B.{path}";

    /// <summary>Group of every A and B.</summary>
    public const string Group = "adapter";

    /// <summary>PEFT's key of module <paramref name="path"/>'s A <c>[r, in]</c>, F32.</summary>
    public static string StoredA(string path) => $"base_model.model.{path}.lora_A.weight";

    /// <summary>PEFT's key of module <paramref name="path"/>'s B <c>[out, r]</c>, F32 (unscaled).</summary>
    public static string StoredB(string path) => $"base_model.model.{path}.lora_B.weight";
}
