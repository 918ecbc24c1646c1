namespace VbLoraOrt.Adapters.Methods.VbLora;

/// <summary>
/// VB-LoRA's names in one place: graph/trainable tensor names (the adapted model's initializers, the training graph's
/// inputs), the adapter file's keys (PEFT's, as it saves with <c>save_only_topk_weights=True</c>, adapter name
/// removed) and the parameter groups.
/// </summary>
public static class VbLoraNames
{
    /// <summary>The shared vector bank <c>[h, b]</c>.</summary>
    public const string VectorBank = "vblora_vector_bank";

    /// <summary>Logits of module <paramref name="path"/>'s A: <c>[r, in/b, h]</c>.</summary>
    public static string LogitsA(string path) => $"vblora_logits_A.{path}";

    /// <summary>Logits of module <paramref name="path"/>'s B: <c>[out/b, r, h]</c>.</summary>
    public static string LogitsB(string path) => $"vblora_logits_B.{path}";

    /// <summary>Group of the bank.</summary>
    public const string BankGroup = "bank";

    /// <summary>Group of every logits tensor.</summary>
    public const string LogitsGroup = "logits";

    /// <summary>File key of the bank <c>[h, b]</c>, F32.</summary>
    public const string StoredVectorBank = "base_model.vblora_vector_bank";

    /// <summary>PEFT's key of module <paramref name="path"/>'s A logits (the stored form keeps only its top-k).</summary>
    public static string StoredLogitsA(string path) => $"base_model.model.{path}.vblora_logits_A";

    /// <summary>PEFT's key of module <paramref name="path"/>'s B logits (the stored form keeps only its top-k).</summary>
    public static string StoredLogitsB(string path) => $"base_model.model.{path}.vblora_logits_B";

    /// <summary>The top-k indices of <paramref name="logits"/> along its last axis: <c>[.., k]</c>, U8/I16/I32.</summary>
    public static string TopKIndices(string logits) => $"{logits}_topk_indices";

    /// <summary>The first k−1 softmax weights of <paramref name="logits"/>' top-k values: <c>[.., k−1]</c>, F32.</summary>
    public static string TopKWeights(string logits) => $"{logits}_topk_weights";

    /// <summary>
    /// The safetensors dtype PEFT stores top-k indices in: the smallest of uint8, int16, int32, int64 whose range holds
    /// <c>num_vectors</c> by PEFT's strict rule (<c>num_vectors &lt; 2^8</c> → U8, <c>&lt; 2^15</c> → I16, <c>&lt; 2^31</c> →
    /// I32, else I64). So 256 vectors give I16 in PEFT, where this project's own adapter file uses U8.
    /// </summary>
    public static string PeftTopKIndexDType(long numVectors) => numVectors switch
    {
        < 1L << 8 => "U8",
        < 1L << 15 => "I16",
        < 1L << 31 => "I32",
        _ => "I64",
    };
}
