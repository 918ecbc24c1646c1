namespace VbLoraOrt.OrtFormats.Adapters;

/// <summary>
/// The contents of an ONNX Runtime adapter file (<c>.onnx_adapter</c>): named tensors that, once the file is loaded
/// as an <c>OrtLoraAdapter</c> and made active in a run's <c>RunOptions</c>, feed the graph inputs of the same names.
/// Read and written by <see cref="OnnxAdapterFile"/>.
/// </summary>
/// <remarks>
/// ONNX Runtime stores <see cref="AdapterVersion"/> and <see cref="ModelVersion"/> and checks neither: they are the
/// producer's own numbers (which revision of this adapter; which version of the model it was trained for).
/// </remarks>
public sealed class OnnxAdapter
{
    readonly OnnxAdapterParameter[] _parameters;
    readonly Dictionary<string, OnnxAdapterParameter> _byName;

    /// <summary>An adapter of <paramref name="parameters"/>, in file order.</summary>
    /// <exception cref="ArgumentException">Two parameters share a name (ONNX Runtime would silently use the first).</exception>
    public OnnxAdapter(IEnumerable<OnnxAdapterParameter> parameters, int adapterVersion = 0, int modelVersion = 0)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _parameters = [.. parameters];
        _byName = new Dictionary<string, OnnxAdapterParameter>(_parameters.Length, StringComparer.Ordinal);
        foreach (var parameter in _parameters)
        {
            ArgumentNullException.ThrowIfNull(parameter, nameof(parameters));
            if (!_byName.TryAdd(parameter.Name, parameter))
                throw new ArgumentException($"two adapter parameters are named '{parameter.Name}'; each graph input is fed once.", nameof(parameters));
        }
        AdapterVersion = adapterVersion;
        ModelVersion = modelVersion;
    }

    /// <summary>The file format version: always the one ONNX Runtime reads (1); other versions are refused on read.</summary>
    public int FormatVersion => AdapterSchema.FormatVersion;

    /// <summary>The producer's version of this adapter; not interpreted by ONNX Runtime. Default 0.</summary>
    public int AdapterVersion { get; }

    /// <summary>The producer's version of the model this adapter was made for; not interpreted by ONNX Runtime. Default 0.</summary>
    public int ModelVersion { get; }

    /// <summary>The tensors, in file order.</summary>
    public IReadOnlyList<OnnxAdapterParameter> Parameters => _parameters;

    /// <summary>Total bytes of tensor data.</summary>
    public long DataBytes => _parameters.Sum(p => (long)p.Data.Length);

    /// <summary>The parameter named <paramref name="name"/>, or null.</summary>
    public OnnxAdapterParameter? Find(string name) => _byName.GetValueOrDefault(name);
}
