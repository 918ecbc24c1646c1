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

    /// <summary>
    /// A tensor of a module PEFT keeps whole in <c>modules_to_save</c> (a task head): the wrapper's
    /// <c>modules_to_save.&lt;adapter&gt;.</c> level is dropped, so <c>classifier</c>'s weight is saved as
    /// <c>base_model.model.classifier.weight</c> (<c>ModulesToSaveWrapper.adapter_state_dict</c>).
    /// </summary>
    public static string ModuleToSave(string moduleName, string tensor) => Module(moduleName, tensor);
}
