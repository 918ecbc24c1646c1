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

    /// <summary>
    /// A per-module buffer (<c>unilora_indices_A</c>, <c>unilora_indices_B</c>, <c>unilora_scales_A</c>,
    /// <c>unilora_scales_B</c>) as PEFT names it in the state dict; which of them a file holds depends on
    /// <c>save_indices</c> (not verified against PEFT's saving code here).
    /// </summary>
    public static string StoredBuffer(string path, string buffer) => $"base_model.model.{path}.{buffer}";
}
