using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters;

/// <summary>
/// The values of a method's <see cref="MethodOption"/>s: given ones, and the defaults of the rest. Built by the
/// command-line host or by a method's demo preset; read by <see cref="AdapterMethodDescriptor.Create"/>.
/// </summary>
public sealed class MethodOptionValues
{
    readonly Dictionary<string, object?> _values;

    MethodOptionValues(Dictionary<string, object?> values) => _values = values;

    /// <summary>
    /// The values for <paramref name="descriptor"/>: <paramref name="given"/> (by option name) where present, its
    /// defaults elsewhere.
    /// </summary>
    /// <exception cref="UsageException">A given option is not one of the method's, or has the wrong type.</exception>
    public static MethodOptionValues For(AdapterMethodDescriptor descriptor, IReadOnlyDictionary<string, object?>? given = null)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        given ??= new Dictionary<string, object?>();
        foreach (string name in given.Keys)
            if (descriptor.Options.All(o => o.Name != name))
                throw new UsageException(
                    $"--{name} does not apply to --method {descriptor.Name} (its options: {string.Join(", ", descriptor.Options.Select(o => "--" + o.Name))}).");
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var option in descriptor.Options)
        {
            object? value = given.TryGetValue(option.Name, out var v) ? v : option.Default;
            if (value != null && value.GetType() != option.ValueType)
                throw new UsageException($"--{option.Name} takes a {option.ValueType.Name.ToLowerInvariant()}, not '{value}'.");
            values[option.Name] = value;
        }
        return new MethodOptionValues(values);
    }

    /// <summary>An integer option's value.</summary>
    public int Int(string name) => (int)Required(name);

    /// <summary>A 64-bit integer option's value.</summary>
    public long Long(string name) => (long)Required(name);

    /// <summary>A real option's value.</summary>
    public double Double(string name) => (double)Required(name);

    /// <summary>A real option's value, or null when neither given nor defaulted (the method derives it).</summary>
    public double? DoubleOrNull(string name) => _values.TryGetValue(name, out var v) ? (double?)v : throw Unknown(name);

    /// <summary>A file option's path, or null when not given.</summary>
    public string? FileOrNull(string name) => _values.TryGetValue(name, out var v) ? (string?)v : throw Unknown(name);

    object Required(string name) =>
        _values.TryGetValue(name, out var v) ? v ?? throw new InvalidOperationException($"option '{name}' has no value and no default.") : throw Unknown(name);

    static InvalidOperationException Unknown(string name) => new($"'{name}' is not an option of this method.");
}
