namespace VbLoraOrt.Adapters.Methods.UniLora;

/// <summary>Uni-LoRA's names: the one trainable vector, its adapter-file key (PEFT's) and its parameter group.</summary>
public static class UniLoraNames
{
    /// <summary>The one trainable vector θ <c>[d]</c>.</summary>
    public const string Theta = "unilora_theta_d";

    /// <summary>Group of θ.</summary>
    public const string Group = "theta";

    /// <summary>File key of θ <c>[d]</c>, F32.</summary>
    public const string StoredTheta = "base_model.unilora_theta_d";
}
