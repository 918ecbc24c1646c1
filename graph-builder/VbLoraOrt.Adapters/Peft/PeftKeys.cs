namespace VbLoraOrt.Adapters.Peft;

/// <summary>
/// Tensor keys of <c>adapter_model.safetensors</c> as PEFT's <c>get_peft_model_state_dict</c>
/// (<c>utils/save_and_load.py</c>) produces them: the <c>PeftModel</c>'s state-dict keys (<c>base_model.model.</c> +
/// the module path in the wrapped transformers model + the tensor) with <c>"." + adapter_name</c> removed
/// (<c>base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.default.weight</c> →
/// <c>….query.lora_A.weight</c>). Shared tensors hang off the tuner itself, hence <c>base_model.</c> without
/// <c>model.</c>. A module path here is the transformers module path (e.g. <c>bert.encoder.layer.0.attention.self.query</c>
/// for <c>BertForSequenceClassification</c>).
/// </summary>
public static class PeftKeys
{
    /// <summary>The weights file of a PEFT adapter directory (<c>SAFETENSORS_WEIGHTS_NAME</c>).</summary>
    public const string WeightsFileName = "adapter_model.safetensors";

    /// <summary>The config file of a PEFT adapter directory (<c>CONFIG_NAME</c>).</summary>
    public const string ConfigFileName = "adapter_config.json";

    /// <summary>The key of tensor <paramref name="tensor"/> of the module at <paramref name="modulePath"/>.</summary>
    public static string Module(string modulePath, string tensor) => $"base_model.model.{modulePath}.{tensor}";

    /// <summary>LoRA's A <c>[r, in]</c>, F32.</summary>
    public static string LoraA(string modulePath) => Module(modulePath, "lora_A.weight");

    /// <summary>LoRA's B <c>[out, r]</c>, F32, unscaled (α/r comes from the config).</summary>
    public static string LoraB(string modulePath) => Module(modulePath, "lora_B.weight");

    /// <summary>VB-LoRA's shared bank <c>[num_vectors, vector_length]</c> (saved in both forms).</summary>
    public const string VectorBank = "base_model.vblora_vector_bank";

    /// <summary>VB-LoRA's full A logits <c>[r, in/b, num_vectors]</c> (the form saved when <c>save_only_topk_weights</c> is false).</summary>
    public static string LogitsA(string modulePath) => Module(modulePath, "vblora_logits_A");

    /// <summary>VB-LoRA's full B logits <c>[out/b, r, num_vectors]</c>.</summary>
    public static string LogitsB(string modulePath) => Module(modulePath, "vblora_logits_B");

    /// <summary>The top-k indices of a logits key, <c>[.., topk]</c>, dtype by <see cref="TopKIndexDType"/> (the <c>save_only_topk_weights</c> form).</summary>
    public static string TopKIndices(string logitsKey) => logitsKey + "_topk_indices";

    /// <summary>The first topk−1 softmax weights of a logits key's top-k values, <c>[.., topk − 1]</c>, F32.</summary>
    public static string TopKWeights(string logitsKey) => logitsKey + "_topk_weights";

    /// <summary>
    /// The safetensors dtype PEFT stores VB-LoRA's top-k indices in: the smallest of uint8, int16, int32, int64 whose
    /// range holds <c>num_vectors</c> by its strict rule (<c>num_vectors &lt; 2^8</c> → U8, <c>&lt; 2^15</c> → I16,
    /// <c>&lt; 2^31</c> → I32, else I64). So 256 vectors give I16, not U8.
    /// </summary>
    public static string TopKIndexDType(long numVectors) => numVectors switch
    {
        < 1L << 8 => "U8",
        < 1L << 15 => "I16",
        < 1L << 31 => "I32",
        _ => "I64",
    };

    /// <summary>VeRA's trainable <c>λ_b [out]</c>, F32.</summary>
    public static string VeraLambdaB(string modulePath) => Module(modulePath, "vera_lambda_b");

    /// <summary>VeRA's trainable <c>λ_d [r]</c>, F32.</summary>
    public static string VeraLambdaD(string modulePath) => Module(modulePath, "vera_lambda_d");

    /// <summary>VeRA's shared <c>vera_A [r, max_in]</c>, saved only when <c>save_projection</c> is true (PEFT's default).</summary>
    public const string VeraA = "base_model.vera_A";

    /// <summary>VeRA's shared <c>vera_B [max_out, r]</c>, saved only when <c>save_projection</c> is true.</summary>
    public const string VeraB = "base_model.vera_B";

    /// <summary>Uni-LoRA's one trainable vector θ <c>[theta_d_length]</c>, F32.</summary>
    public const string UniLoraTheta = "base_model.unilora_theta_d";

    /// <summary>
    /// A Uni-LoRA per-module buffer (<c>unilora_indices_A</c>, <c>unilora_indices_B</c>, <c>unilora_scales_A</c>,
    /// <c>unilora_scales_B</c>) as PEFT names it in the state dict; which of them a file holds depends on
    /// <c>save_indices</c> (not verified against PEFT's saving code here).
    /// </summary>
    public static string UniLoraBuffer(string modulePath, string buffer) => Module(modulePath, buffer);

    /// <summary>
    /// A tensor of a module PEFT keeps whole in <c>modules_to_save</c> (a task head): the wrapper's
    /// <c>modules_to_save.&lt;adapter&gt;.</c> level is dropped, so <c>classifier</c>'s weight is saved as
    /// <c>base_model.model.classifier.weight</c> (<c>ModulesToSaveWrapper.adapter_state_dict</c>).
    /// </summary>
    public static string ModuleToSave(string moduleName, string tensor) => Module(moduleName, tensor);
}
