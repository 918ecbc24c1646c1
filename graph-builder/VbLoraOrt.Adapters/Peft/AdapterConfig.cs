using System.Text.Json;
using System.Text.Json.Nodes;
namespace VbLoraOrt.Adapters.Peft;

/// <summary>
/// The contents of a PEFT <c>adapter_config.json</c> for one supported method: every field PEFT writes for the method
/// (<see cref="PeftLayout.Fields"/>), each at PEFT's default until set. Fields read from a file that PEFT's config class
/// does not have are kept aside in <see cref="UnknownFields"/> (PEFT drops them too, with a warning) and never written.
/// </summary>
public sealed class AdapterConfig
{
    static readonly HashSet<string> PositiveIntegers = new(StringComparer.Ordinal) { "r", "num_vectors", "vector_length", "topk", "theta_d_length" };

    readonly SortedDictionary<string, JsonNode?> _fields = new(StringComparer.Ordinal);
    readonly Dictionary<string, PeftConfigField> _schema;

    AdapterConfig(PeftLayout layout, IReadOnlyDictionary<string, JsonNode?> unknown)
    {
        PeftType = layout.PeftType;
        _schema = layout.Fields.ToDictionary(f => f.Name, StringComparer.Ordinal);
        foreach (var field in _schema.Values)
            _fields[field.Name] = field.DefaultCopy();
        UnknownFields = unknown;
    }

    /// <summary>A config of <paramref name="layout"/>'s method with every field at PEFT's default.</summary>
    public static AdapterConfig Create(PeftLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        return new(layout, new Dictionary<string, JsonNode?>());
    }

    /// <summary><c>peft_type</c>, as the layout names it.</summary>
    public string PeftType { get; }

    /// <summary>Every field PEFT writes for the method, sorted by key as PEFT writes them.</summary>
    public IReadOnlyDictionary<string, JsonNode?> Fields => _fields;

    /// <summary>Fields of the file read that the method's PEFT config does not have, with their values.</summary>
    public IReadOnlyDictionary<string, JsonNode?> UnknownFields { get; }

    /// <summary><c>r</c>, the rank.</summary>
    public int Rank => GetInt("r");

    /// <summary><c>task_type</c> (<c>SEQ_CLS</c>, <c>FEATURE_EXTRACTION</c>, …) or null.</summary>
    public string? TaskType => GetText("task_type");

    /// <summary><c>base_model_name_or_path</c> or null.</summary>
    public string? BaseModelNameOrPath => GetText("base_model_name_or_path");

    /// <summary>
    /// <c>target_modules</c> when it is a list of names (PEFT matches a module whose path equals a name or ends with
    /// <c>"." + name</c>); null when it is a regular expression (<see cref="TargetModulesPattern"/>).
    /// </summary>
    public IReadOnlyList<string>? TargetModuleNames => _fields["target_modules"] is JsonArray list ? Strings(list) : null;

    /// <summary><c>target_modules</c> when it is one string (PEFT full-matches it against module paths as a regex).</summary>
    public string? TargetModulesPattern => _fields["target_modules"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    /// <summary><c>modules_to_save</c> (e.g. <c>["classifier", "score"]</c> for <c>SEQ_CLS</c>), or null.</summary>
    public IReadOnlyList<string>? ModulesToSave => _fields["modules_to_save"] is JsonArray list ? Strings(list) : null;

    /// <summary>The value of field <paramref name="name"/> (null for Python <c>None</c>).</summary>
    /// <exception cref="KeyNotFoundException">The method's config has no such field.</exception>
    public JsonNode? this[string name] => _fields.TryGetValue(name, out var value)
        ? value
        : throw new KeyNotFoundException($"{PeftType} configs have no field '{name}'");

    /// <summary>Sets field <paramref name="name"/> after checking it exists for the method and has the right JSON shape.</summary>
    /// <returns>This config, for chaining.</returns>
    /// <exception cref="ArgumentException">Unknown field, or a value of the wrong shape or range.</exception>
    public AdapterConfig Set(string name, JsonNode? value)
    {
        if (!_schema.TryGetValue(name, out var field))
            throw new ArgumentException($"{PeftType} configs have no field '{name}'; PEFT would not write it", nameof(name));
        if (name == "peft_type")
            throw new ArgumentException("peft_type is fixed when the config is created", nameof(name));
        string? problem = Problem(field, value);
        if (problem != null)
            throw new ArgumentException($"{name}: {problem}", nameof(value));
        _fields[name] = value?.DeepClone();
        return this;
    }

    /// <summary>Sets <c>target_modules</c> to a list of names, in the given order (PEFT writes its set in arbitrary order).</summary>
    public AdapterConfig SetTargetModules(IEnumerable<string> names) =>
        Set("target_modules", new JsonArray(names.Select(n => (JsonNode?)JsonValue.Create(n)).ToArray()));

    /// <summary>Integer field <paramref name="name"/>.</summary>
    /// <exception cref="InvalidOperationException">The field is null.</exception>
    public int GetInt(string name) => this[name] is JsonValue v ? v.GetValue<int>() : throw Null(name);

    /// <summary>Number field <paramref name="name"/>, integer or not.</summary>
    /// <exception cref="InvalidOperationException">The field is null.</exception>
    public double GetNumber(string name) =>
        this[name] is JsonValue v ? v.TryGetValue(out int integer) ? integer : v.GetValue<double>() : throw Null(name);   // an int set in memory is no double

    /// <summary>Boolean field <paramref name="name"/>.</summary>
    /// <exception cref="InvalidOperationException">The field is null.</exception>
    public bool GetBool(string name) => this[name] is JsonValue v ? v.GetValue<bool>() : throw Null(name);

    /// <summary>Text field <paramref name="name"/>, or null.</summary>
    public string? GetText(string name) => this[name] is JsonValue v ? v.GetValue<string>() : null;

    /// <summary>The config as one JSON object (PEFT's key set; unknown fields left out).</summary>
    public JsonObject ToJsonObject() => new(_fields.Select(kv => KeyValuePair.Create(kv.Key, kv.Value?.DeepClone())));

    /// <summary>
    /// Builds a config of <paramref name="layout"/>'s method (the one its <c>peft_type</c> names) from a parsed
    /// <c>adapter_config.json</c>: every required field must be present and not null, every known field must have
    /// PEFT's JSON shape; missing optional fields take PEFT's defaults, as PEFT fills them; unknown fields go to
    /// <see cref="UnknownFields"/>.
    /// </summary>
    /// <param name="json">The parsed file.</param>
    /// <param name="layout">The layout of the method its <c>peft_type</c> names.</param>
    /// <param name="source">The file name, for messages.</param>
    /// <exception cref="PeftFormatException">A problem, naming <paramref name="source"/> and the field.</exception>
    public static AdapterConfig FromJson(JsonObject json, PeftLayout layout, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(layout);
        string peftType = layout.PeftType;
        var schema = layout.Fields;
        var known = schema.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        var unknown = json.Where(kv => !known.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value?.DeepClone(), StringComparer.Ordinal);
        var config = new AdapterConfig(layout, unknown);
        foreach (var field in schema)
        {
            bool present = json.TryGetPropertyValue(field.Name, out var value);
            if (field.Required && (!present || value is null))
                throw Bad(source, $"{(present ? "has null for" : "is missing")} required field '{field.Name}' of a {peftType} config");
            if (!present)
                continue;
            string? problem = Problem(field, value);
            if (problem != null)
                throw Bad(source, $"field '{field.Name}' {problem}");
            config._fields[field.Name] = value?.DeepClone();
        }
        if (layout.Check?.Invoke(config.GetInt) is { } across)
            throw Bad(source, across);
        return config;
    }

    // Why `value` cannot be field `field`'s value, or null when it can.
    static string? Problem(PeftConfigField field, JsonNode? value)
    {
        if (value is null)
            return field.Required ? "is required and cannot be null" : null;
        var kind = value.GetValueKind();
        bool fits = field.Kind switch
        {
            PeftFieldKind.Integer => kind == JsonValueKind.Number && IsInt32(value),
            PeftFieldKind.Number => kind == JsonValueKind.Number,
            PeftFieldKind.Boolean => kind is JsonValueKind.True or JsonValueKind.False,
            PeftFieldKind.Text => kind == JsonValueKind.String,
            PeftFieldKind.ModuleNames => kind == JsonValueKind.String
                || kind == JsonValueKind.Array && value.AsArray().All(n => n?.GetValueKind() == JsonValueKind.String),
            _ => true,
        };
        if (!fits)
            return $"is {Shorten(value.ToJsonString())}, but PEFT writes {Describe(field.Kind)} there";
        if (PositiveIntegers.Contains(field.Name) && value.GetValue<int>() <= 0)
            return $"is {value.ToJsonString()}; it must be a positive integer";
        if (field.Kind == PeftFieldKind.ModuleNames && kind == JsonValueKind.Array && value.AsArray().Count == 0 && field.Required)
            return "is an empty list; name at least one module";
        return null;
    }

    static bool IsInt32(JsonNode value)
    {
        string raw = value.ToJsonString();
        return raw.AsSpan().IndexOfAny('.', 'e', 'E') < 0 && int.TryParse(raw, out _);
    }

    static string Describe(PeftFieldKind kind) => kind switch
    {
        PeftFieldKind.Integer => "an integer",
        PeftFieldKind.Number => "a number",
        PeftFieldKind.Boolean => "true or false",
        PeftFieldKind.Text => "a string",
        PeftFieldKind.ModuleNames => "a list of module names or one regular expression",
        _ => "any value",
    };

    static string Shorten(string text) => text.Length <= 60 ? text : text[..57] + "...";

    static string[] Strings(JsonArray list) => list.Select(n => n!.GetValue<string>()).ToArray();

    InvalidOperationException Null(string name) => new($"{PeftType} config field '{name}' is null");

    static PeftFormatException Bad(string source, string problem) => new($"{source}: {problem}.");
}
