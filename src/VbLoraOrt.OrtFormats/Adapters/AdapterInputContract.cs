using Onnx;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.OrtFormats.Adapters;

/// <summary>
/// The graph inputs of one model that adapters may feed, and the check that an adapter fits them: every parameter
/// names a graph input, has its element type, its rank and every fixed dim. ONNX Runtime itself finds these mismatches
/// only when a run starts, and fails that run; checking at load time refuses the adapter instead, naming the tensor,
/// while the session goes on serving the others.
/// </summary>
/// <remarks>
/// An adapter may feed any subset of the inputs: the others keep their initializer defaults. Inputs that each request
/// feeds (token ids, masks) are named as request inputs and refused as adapter parameters: ONNX Runtime appends an
/// adapter's tensors after the caller's inputs and, given one name twice, silently uses the last, so an adapter
/// naming a request input would replace the request's value. Which inputs must come from an adapter is the serving
/// model's business, not this check's.
/// </remarks>
public sealed class AdapterInputContract
{
    readonly Dictionary<string, AdapterInput> _inputs;
    readonly HashSet<string> _requestInputs;

    /// <summary>
    /// A contract over <paramref name="inputs"/> (e.g. built from a session's input metadata), of which those named in
    /// <paramref name="requestInputs"/> are fed by each request and never by an adapter.
    /// </summary>
    public AdapterInputContract(IEnumerable<AdapterInput> inputs, IEnumerable<string>? requestInputs = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        _inputs = new Dictionary<string, AdapterInput>(StringComparer.Ordinal);
        foreach (var input in inputs)
            if (!_inputs.TryAdd(input.Name, input))
                throw new ArgumentException($"graph input '{input.Name}' is listed twice.", nameof(inputs));
        _requestInputs = new HashSet<string>(requestInputs ?? [], StringComparer.Ordinal);
        foreach (string name in _requestInputs)
            if (!_inputs.ContainsKey(name))
                throw new ArgumentException($"request input '{name}' is not a graph input.", nameof(requestInputs));
    }

    /// <summary>
    /// Every tensor graph input of <paramref name="model"/>, with whether an initializer gives it a default;
    /// <paramref name="requestInputs"/> are the ones each request feeds.
    /// </summary>
    public static AdapterInputContract FromModel(OnnxModel model, IEnumerable<string>? requestInputs = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var initializers = model.Graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        return new AdapterInputContract(model.Graph.Input
            .Where(i => i.Type?.TensorType != null)
            .Select(i => new AdapterInput(i.Name, i.Type.TensorType.ElemType, Dims(i.Type.TensorType), initializers.Contains(i.Name))),
            requestInputs);
    }

    static long?[]? Dims(TypeProto.Types.Tensor tensor) => tensor.Shape == null ? null :
        tensor.Shape.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue : (long?)null).ToArray();

    /// <summary>The inputs, by name.</summary>
    public IReadOnlyCollection<AdapterInput> Inputs => _inputs.Values;

    /// <summary>Every way <paramref name="adapter"/> does not fit, one line per parameter at fault; empty when it fits.</summary>
    public IReadOnlyList<string> FindMismatches(OnnxAdapter adapter)
    {
        ArgumentNullException.ThrowIfNull(adapter);
        var mismatches = new List<string>();
        foreach (var parameter in adapter.Parameters)
            if (Mismatch(parameter) is { } reason)
                mismatches.Add($"parameter '{parameter.Name}' {reason}");
        return mismatches;
    }

    /// <summary>Throws unless <paramref name="adapter"/> fits; <paramref name="source"/> names it in the error.</summary>
    /// <exception cref="OnnxAdapterException">Lists every parameter that does not fit and why.</exception>
    public void EnsureFits(OnnxAdapter adapter, string source)
    {
        var mismatches = FindMismatches(adapter);
        if (mismatches.Count > 0)
            throw new OnnxAdapterException(source,
                $"does not fit the model: {string.Join("; ", mismatches)}. Was it exported for another model or method?");
    }

    string? Mismatch(OnnxAdapterParameter parameter)
    {
        if (!_inputs.TryGetValue(parameter.Name, out var input))
            return $"feeds no graph input of the model (its {_inputs.Count} inputs are {Listed(_inputs.Keys)})";
        if (_requestInputs.Contains(input.Name))
            return $"names input '{input.Name}', which each request feeds (ONNX Runtime would silently replace the request's value with the adapter's)";
        if (input.DataType != parameter.DataType)
            return $"is {ElementType.Name(parameter.DataType)} but input '{input.Name}' is {input.TypeName}";
        if (input.Dims == null)
            return null;
        string shape = $"[{string.Join(",", parameter.Dims)}]";
        if (input.Dims.Count != parameter.Dims.Count)
            return $"has rank {parameter.Dims.Count} {shape} but input '{input.Name}' has rank {input.Dims.Count} {input.ShapeText}";
        for (int d = 0; d < input.Dims.Count; d++)
            if (input.Dims[d] is long size && size != parameter.Dims[d])
                return $"has shape {shape} but input '{input.Name}' is {input.ShapeText} (dim {d} differs)";
        return null;
    }

    static string Listed(IEnumerable<string> names)
    {
        var sorted = names.Order(StringComparer.Ordinal).ToList();
        return string.Join(", ", sorted.Take(8).Select(n => $"'{n}'")) + (sorted.Count > 8 ? $", … {sorted.Count - 8} more" : "");
    }
}
