namespace VbLoraOrt.Adapters;

/// <summary>
/// The well-known names of adapter parameter tensors, in one place: the adapted model's initializers, the
/// training graph's inputs and the adapter file all use them. Per-module names end in the module path.
/// </summary>
public static class AdapterTensorNames
{
    /// <summary>VB-LoRA's shared vector bank <c>[h, b]</c>.</summary>
    public const string VectorBank = "vblora_vector_bank";

    /// <summary>VB-LoRA logits of module <paramref name="path"/>'s A: <c>[r, in/b, h]</c>.</summary>
    public static string LogitsA(string path) => $"vblora_logits_A.{path}";

    /// <summary>VB-LoRA logits of module <paramref name="path"/>'s B: <c>[out/b, r, h]</c>.</summary>
    public static string LogitsB(string path) => $"vblora_logits_B.{path}";

    /// <summary>LoRA's A of module <paramref name="path"/>: <c>[r, in]</c>.</summary>
    public static string LoraA(string path) => $"lora_A.{path}";

    /// <summary>LoRA's B of module <paramref name="path"/>: <c>[out, r]</c> (unscaled; the graph applies α/r).</summary>
    public static string LoraB(string path) => $"lora_B.{path}";

    /// <summary>Uni-LoRA's one trainable vector θ <c>[d]</c>.</summary>
    public const string Theta = "unilora_theta_d";
}
