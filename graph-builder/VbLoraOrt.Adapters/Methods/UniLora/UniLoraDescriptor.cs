namespace VbLoraOrt.Adapters.Methods.UniLora;

/// <summary>Uni-LoRA's entry in the method registry (DESIGN.md §2.3).</summary>
public static class UniLoraDescriptor
{
    /// <summary>The descriptor.</summary>
    public static AdapterMethodDescriptor Instance { get; } = new()
    {
        Name = "unilora",
        DisplayName = "Uni-LoRA",
        Summary = "one trainable vector θ, projected onto every A and B entry by a fixed isometric projection",
        PeftType = UniLoraPeft.Type,
        Options =
        [
            MethodOption.Int("theta-length", 4096, "d: the length of the one trainable vector θ.", "theta_d_length"),
            MethodOption.Int("rank", 4, "r: rank of each A/B pair.", "r"),
            MethodOption.Long("projection-seed", 42, "Seed of the fixed projection (numpy default_rng, as PEFT).", "proj_seed"),
        ],
        Groups = [new(UniLoraNames.Group, 3e-3f, "the one vector θ")],
        Create = (o, seed) => new UniLoraMethod(new UniLoraOptions
        {
            ThetaLength = o.Int("theta-length"),
            Rank = o.Int("rank"),
            ProjectionSeed = o.Long("projection-seed"),
            Seed = seed,
        }),
        Load = json => new UniLoraMethod(MethodOptionsJson.Load<UniLoraOptions>(json)),
        Demo = new DemoPreset(
            "Uni-LoRA (q,v; d 4096, r 4)",
            new Dictionary<string, object?>(),
            new Dictionary<string, float> { [UniLoraNames.Group] = 5e-3f },
            "the usual value, not tuned"),
    };
}
