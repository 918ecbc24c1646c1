namespace VbLoraOrt.OrtFormats.Checkpoints;

/// <summary>The user properties of a checkpoint: named int64, float and string values, names unique across all three.</summary>
public sealed class OrtPropertyBag
{
    /// <summary>A bag without properties.</summary>
    public static OrtPropertyBag Empty { get; } = new(
        new Dictionary<string, long>(), new Dictionary<string, float>(), new Dictionary<string, string>());

    /// <summary>Creates the bag; the dictionaries are copied.</summary>
    /// <exception cref="ArgumentException">An empty name, or one name used by two value types.</exception>
    public OrtPropertyBag(
        IReadOnlyDictionary<string, long> ints, IReadOnlyDictionary<string, float> floats,
        IReadOnlyDictionary<string, string> strings)
    {
        ArgumentNullException.ThrowIfNull(ints);
        ArgumentNullException.ThrowIfNull(floats);
        ArgumentNullException.ThrowIfNull(strings);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (string name in ints.Keys.Concat(floats.Keys).Concat(strings.Keys))
        {
            ArgumentException.ThrowIfNullOrEmpty(name);
            if (!names.Add(name))
                throw new ArgumentException($"property '{name}' is given with two value types; ONNX Runtime keeps one value per name.");
        }
        foreach (var (name, value) in strings)
            ArgumentNullException.ThrowIfNull(value, $"strings['{name}']");
        Ints = new SortedDictionary<string, long>(ints.ToDictionary(), StringComparer.Ordinal);
        Floats = new SortedDictionary<string, float>(floats.ToDictionary(), StringComparer.Ordinal);
        Strings = new SortedDictionary<string, string>(strings.ToDictionary(), StringComparer.Ordinal);
    }

    /// <summary>int64 properties, by name (ordinal order, as ONNX Runtime writes them).</summary>
    public IReadOnlyDictionary<string, long> Ints { get; }

    /// <summary>float properties, by name.</summary>
    public IReadOnlyDictionary<string, float> Floats { get; }

    /// <summary>string properties, by name.</summary>
    public IReadOnlyDictionary<string, string> Strings { get; }

    /// <summary>The number of properties of all types.</summary>
    public int Count => Ints.Count + Floats.Count + Strings.Count;
}
