namespace VbLoraOrt.Adapters.Methods.Lora;

/// <summary>LoRA's entry in the method registry (DESIGN.md §2.4).</summary>
public static class LoraDescriptor
{
    /// <summary>The descriptor.</summary>
    public static AdapterMethodDescriptor Instance { get; } = new()
    {
        Name = "lora",
        DisplayName = "LoRA",
        Summary = "the reference: a trainable A and B per target, the update scaled by α/r",
        PeftType = LoraPeft.Type,
        Options =
        [
            MethodOption.Int("rank", 8, "r: rank of each A/B pair.", "r"),
            MethodOption.Double("lora-alpha", null, "α; the update is scaled by α/r (default: α = r, scale 1).", "lora_alpha"),
        ],
        Groups = [new(LoraNames.Group, 1e-3f, "every target's A and B")],
        Create = (o, seed) => new LoraMethod(new LoraOptions
        {
            Rank = o.Int("rank"),
            Alpha = o.DoubleOrNull("lora-alpha") ?? o.Int("rank"),
            Seed = seed,
        }),
        Load = json => new LoraMethod(MethodOptionsJson.Load<LoraOptions>(json)),
        Demo = new DemoPreset(
            "LoRA (q,v; r 8, alpha 16)",
            new Dictionary<string, object?> { ["rank"] = 8, ["lora-alpha"] = 16.0 },
            new Dictionary<string, float> { [LoraNames.Group] = 1e-3f },
            "the usual value, not tuned"),
    };
}
