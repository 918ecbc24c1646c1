using VbLoraOrt.Adapters.Peft;
using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters.Interchange;

/// <summary>
/// A PEFT adapter directory as <c>PeftModel.save_pretrained</c> lays it out for the default adapter:
/// <c>adapter_config.json</c> and <c>adapter_model.safetensors</c> (metadata <c>{"format": "pt"}</c>) side by side.
/// </summary>
public static class PeftDirectory
{
    /// <summary>The safetensors metadata PEFT writes (<c>safe_save_file(..., metadata={"format": "pt"})</c>).</summary>
    public static IReadOnlyDictionary<string, string> WeightsMetadata { get; } = new Dictionary<string, string> { ["format"] = "pt" };

    /// <summary>Reads the config and every tensor of the directory.</summary>
    /// <exception cref="PeftFormatException">The directory, a file or a field is missing or malformed (the message says which).</exception>
    /// <exception cref="VbLoraOrt.Onnx.BadInputException">The safetensors file is corrupt (from <see cref="SafetensorsFile"/>).</exception>
    public static (AdapterConfig Config, IReadOnlyList<SafeTensor> Tensors) Read(string directory)
    {
        if (!Directory.Exists(directory))
            throw new PeftFormatException($"{directory}: not a directory; a PEFT adapter is a directory with {PeftKeys.ConfigFileName} and {PeftKeys.WeightsFileName}.");
        var config = AdapterConfigFile.Read(Path.Combine(directory, PeftKeys.ConfigFileName));
        string weights = Path.Combine(directory, PeftKeys.WeightsFileName);
        if (!File.Exists(weights))
            throw new PeftFormatException($"{weights}: not found; PEFT saves an adapter's tensors there (a directory with only adapter_model.bin, PEFT's old pickle format, is not read).");
        var (tensors, _) = SafetensorsFile.Read(weights);
        return (config, tensors);
    }

    /// <summary>
    /// Writes the directory: the tensors first, then the config, each atomically; the directory is created when
    /// missing. Tensor keys are checked to be distinct before anything is written.
    /// </summary>
    /// <exception cref="ArgumentException">Two tensors share a key.</exception>
    public static void Write(string directory, AdapterConfig config, IReadOnlyList<SafeTensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(tensors);
        var duplicate = tensors.GroupBy(t => t.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate != null)
            throw new ArgumentException($"tensor key '{duplicate.Key}' appears {duplicate.Count()} times", nameof(tensors));
        string json = AdapterConfigFile.ToJson(config);
        Directory.CreateDirectory(directory);
        SafetensorsFile.Write(Path.Combine(directory, PeftKeys.WeightsFileName), tensors, WeightsMetadata);
        VbLoraOrt.Onnx.AtomicFile.WriteAllText(Path.Combine(directory, PeftKeys.ConfigFileName), json);
    }
}
