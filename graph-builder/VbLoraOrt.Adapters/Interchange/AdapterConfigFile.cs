using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using VbLoraOrt.Adapters.Peft;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters.Interchange;

/// <summary>
/// Reads and writes <c>adapter_config.json</c>. Writing produces the bytes PEFT's <c>save_pretrained</c> produces for
/// the same field values: <see cref="PythonJson"/> (<c>json.dumps(indent=2, sort_keys=True)</c>, no trailing newline),
/// UTF-8, written atomically.
/// </summary>
public static class AdapterConfigFile
{
    /// <summary>Largest config accepted; PEFT's are a few KB.</summary>
    public const int MaxBytes = 1 << 20;

    /// <summary>The file's text for <paramref name="config"/>.</summary>
    public static string ToJson(AdapterConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return PythonJson.Dumps(config.ToJsonObject());
    }

    /// <summary>Writes <paramref name="config"/> to <paramref name="path"/> atomically.</summary>
    public static void Write(string path, AdapterConfig config) => AtomicFile.WriteAllText(path, ToJson(config));

    /// <summary>Reads and validates the config at <paramref name="path"/>.</summary>
    /// <exception cref="PeftFormatException">Missing, too large, not JSON, or a field problem (the message names it).</exception>
    public static AdapterConfig Read(string path)
    {
        if (!File.Exists(path))
            throw new PeftFormatException($"{path}: not found; a PEFT adapter directory holds adapter_config.json beside adapter_model.safetensors.");
        var info = new FileInfo(path);
        if (info.Length > MaxBytes)
            throw new PeftFormatException($"{path}: is {info.Length} bytes; an adapter_config.json is at most {MaxBytes} bytes.");
        return Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>Parses and validates config text; <paramref name="source"/> names it in messages.</summary>
    /// <exception cref="PeftFormatException">Not JSON, not an object, or a field problem.</exception>
    public static AdapterConfig Parse(ReadOnlySpan<byte> utf8, string source)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(utf8.ToArray(), documentOptions: new JsonDocumentOptions { AllowTrailingCommas = false });
            // Materialise the object now so duplicate keys surface here, not later.
            if (root is JsonObject obj)
                _ = obj.Count;
        }
        catch (Exception e) when (e is JsonException or ArgumentException or DecoderFallbackException)
        {
            throw new PeftFormatException($"{source}: is not valid JSON ({e.Message}).", e);
        }
        if (root is not JsonObject json)
            throw new PeftFormatException($"{source}: must hold one JSON object, found {root?.GetValueKind().ToString() ?? "null"}.");
        return AdapterConfig.FromJson(json, LayoutNamedBy(json, source), source);
    }

    // The layout of the method the config's peft_type names.
    static PeftLayout LayoutNamedBy(JsonObject json, string source)
    {
        if (!json.TryGetPropertyValue("peft_type", out var typeNode) || typeNode is null)
            throw new PeftFormatException($"{source}: has no 'peft_type'; a PEFT adapter_config.json always names its method there.");
        if (typeNode is not JsonValue typeValue || typeValue.GetValueKind() != JsonValueKind.String)
            throw new PeftFormatException($"{source}: 'peft_type' is {typeNode.ToJsonString()}, not a string.");
        string peftType = typeValue.GetValue<string>();
        if (!PeftConfigSchema.IsSupported(peftType))
            throw new PeftFormatException($"{source}: peft_type '{peftType}' is not supported; supported: {string.Join(", ", PeftConfigSchema.Supported)}.");
        return PeftConfigSchema.Layout(peftType);
    }
}
