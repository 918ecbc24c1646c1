namespace VbLoraOrt.Adapters.Files;

/// <summary>
/// Tensor keys of the adapter file, in one place. The adapter tensors use Hugging Face PEFT's keys (as PEFT saves a
/// VB-LoRA adapter with <c>save_only_topk_weights=True</c>, adapter name removed), so a PEFT user recognises them;
/// the task head, which PEFT does not have, sits under <c>head.</c>.
/// </summary>
public static class StoredTensorNames
{
    /// <summary>VB-LoRA's shared vector bank <c>[h, b]</c>, F32.</summary>
    public const string VectorBank = "base_model.vblora_vector_bank";

    /// <summary>Uni-LoRA's one vector θ <c>[d]</c>, F32.</summary>
    public const string Theta = "base_model.unilora_theta_d";

    /// <summary>The classifier weight <c>[labels, hidden]</c>, F32, in torch <c>Linear.weight</c> layout (the transpose of the graph's <c>[hidden, labels]</c>).</summary>
    public const string HeadWeight = "head.classifier.weight";

    /// <summary>The classifier bias <c>[labels]</c>, F32.</summary>
    public const string HeadBias = "head.classifier.bias";

    /// <summary>PEFT's key of module <paramref name="path"/>'s A logits (the stored form keeps only its top-k).</summary>
    public static string LogitsA(string path) => $"base_model.model.{path}.vblora_logits_A";

    /// <summary>PEFT's key of module <paramref name="path"/>'s B logits (the stored form keeps only its top-k).</summary>
    public static string LogitsB(string path) => $"base_model.model.{path}.vblora_logits_B";

    /// <summary>The top-k indices of <paramref name="logits"/> along its last axis: <c>[.., k]</c>, U8/I16/I32.</summary>
    public static string TopKIndices(string logits) => $"{logits}_topk_indices";

    /// <summary>The first k−1 softmax weights of <paramref name="logits"/>' top-k values: <c>[.., k−1]</c>, F32.</summary>
    public static string TopKWeights(string logits) => $"{logits}_topk_weights";

    /// <summary>PEFT's key of module <paramref name="path"/>'s LoRA A <c>[r, in]</c>, F32.</summary>
    public static string LoraA(string path) => $"base_model.model.{path}.lora_A.weight";

    /// <summary>PEFT's key of module <paramref name="path"/>'s LoRA B <c>[out, r]</c>, F32 (unscaled).</summary>
    public static string LoraB(string path) => $"base_model.model.{path}.lora_B.weight";
}
