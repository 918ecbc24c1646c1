namespace VbLoraOrt.Adapters.Methods.Vera;

/// <summary>VeRA's entry in the method registry (DESIGN.md §2).</summary>
public static class VeraDescriptor
{
    /// <summary>The descriptor.</summary>
    public static AdapterMethodDescriptor Instance { get; } = new()
    {
        Name = "vera",
        DisplayName = "VeRA",
        Summary = "frozen shared random A and B drawn from a seed; per target, trainable scaling vectors λ_d and λ_b",
        PeftType = VeraPeft.Type,
        Options =
        [
            MethodOption.Int("rank", 256, "r: rank of the shared projections.", "r"),
            MethodOption.Long("projection-seed", 0, "Seed of the shared projections (torch's CPU generator, as PEFT).", "projection_prng_key"),
            MethodOption.Double("d-initial", 0.1, "Initial value of every λ_d entry.", "d_initial"),
        ],
        Groups = [new(VeraNames.Group, 1e-2f, "every target's λ_d and λ_b")],
        Create = (o, seed) => new VeraMethod(new VeraOptions
        {
            Rank = o.Int("rank"),
            ProjectionSeed = o.Long("projection-seed"),
            DInitial = o.Double("d-initial"),
            Seed = seed,
        }),
        Load = json => new VeraMethod(MethodOptionsJson.Load<VeraOptions>(json)),
        Demo = new DemoPreset(
            "VeRA (q,v; r 256)",
            new Dictionary<string, object?>(),
            new Dictionary<string, float> { [VeraNames.Group] = 1e-2f },
            "the usual value, not tuned"),
    };
}
