namespace VbLoraOrt.Adapters.Methods.VbLora;

/// <summary>VB-LoRA's entry in the method registry (DESIGN.md §2.2).</summary>
public static class VbLoraDescriptor
{
    /// <summary>The option naming a trained bank to freeze and share (<c>--frozen-bank FILE</c>).</summary>
    public const string FrozenBankOption = "frozen-bank";

    /// <summary>The descriptor.</summary>
    public static AdapterMethodDescriptor Instance { get; } = new()
    {
        Name = "vblora",
        DisplayName = "VB-LoRA",
        Summary = "one shared vector bank; every A and B sub-vector is a top-k admixture of bank vectors chosen by trainable logits",
        PeftType = VbLoraPeft.Type,
        Options =
        [
            MethodOption.Int("num-vectors", 256, "h: vectors in the shared bank.", "num_vectors"),
            MethodOption.Int("vector-length", 128, "b: length of a bank vector; must divide every target's in and out features.", "vector_length"),
            MethodOption.Int("rank", 4, "r: rank of each A/B pair.", "r"),
            MethodOption.Int("topk", 2, "k: bank vectors mixed per sub-vector.", "topk"),
            MethodOption.Double("init-logits-std", 0.1, "Std of the logits' normal init (PEFT 0.1; the paper's code 0.01).", "init_logits_std"),
            MethodOption.File(FrozenBankOption, "A trained bank to freeze and share: an adapter file of a VB-LoRA run (or a shared_bank.safetensors); only the logits (and head) train, and adapter files store only their top-k."),
        ],
        Groups =
        [
            new(VbLoraNames.BankGroup, 1e-3f, "the shared vector bank"),
            new(VbLoraNames.LogitsGroup, 1e-2f, "the per-layer top-k logits"),
        ],
        Create = (o, seed) => Create(new VbLoraOptions
        {
            NumVectors = o.Int("num-vectors"),
            VectorLength = o.Int("vector-length"),
            Rank = o.Int("rank"),
            TopK = o.Int("topk"),
            InitLogitsStd = o.Double("init-logits-std"),
            Seed = seed,
        }, o.FileOrNull(FrozenBankOption)),
        Shared = new SharedVariant(FrozenBankOption, "shared frozen bank"),
        Load = json => new VbLoraMethod(MethodOptionsJson.Load<VbLoraOptions>(json)),
        Demo = new DemoPreset(
            "VB-LoRA (q,v; bank 256x128, r 4, k 2)",
            new Dictionary<string, object?>(),
            new Dictionary<string, float> { [VbLoraNames.BankGroup] = 5e-3f, [VbLoraNames.LogitsGroup] = 5e-2f },
            "tuned on this sample: PEFT's 1e-3 / 1e-2 reached 97.0 %, 5× that 97.8 %"),
    };

    static VbLoraMethod Create(VbLoraOptions options, string? frozenBank) =>
        frozenBank == null ? new VbLoraMethod(options) : VbLoraMethod.WithFrozenBank(options, SharedBank.Read(frozenBank));
}
