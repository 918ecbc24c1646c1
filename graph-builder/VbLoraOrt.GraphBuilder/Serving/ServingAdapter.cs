using VbLoraOrt.Adapters;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;
using VbLoraOrt.OrtFormats.Adapters;

namespace VbLoraOrt.GraphBuilder.Serving;

/// <summary>
/// One trained adapter as ONNX Runtime's <c>.onnx_adapter</c> for the serving model of its artifacts: the method's
/// serving tensors (<see cref="ServingForm"/>) and the trained head, named as the serving model's inputs.
/// </summary>
public static class ServingAdapter
{
    /// <summary>
    /// The adapter of <paramref name="values"/> (every trainable of <paramref name="manifest"/>, adapter and head), with
    /// the method's <see cref="ServingModelVersion"/> as its <c>model_version</c> and the base model's
    /// <see cref="BaseModelStamp"/> as its <c>adapter_version</c> (ONNX Runtime interprets neither; the serving session checks both).
    /// </summary>
    /// <exception cref="BadInputException">A head value is missing; the method has no serving form.</exception>
    public static OnnxAdapter Create(ArtifactManifest manifest, IReadOnlyDictionary<string, float[]> values)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(values);
        var method = Adapters.Registry.AdapterMethods.Create(manifest.Method, manifest.MethodOptions);
        return Create(method, method.Plan(manifest.Targets), manifest.Trainables.Where(t => t.Group == ParameterGroups.Head), values,
            ServingModelVersion.Of(method), BaseModelStamp.Of(manifest.BaseModel.Sha256));
    }

    /// <summary>The adapter of <paramref name="values"/>: every parameter of <paramref name="plan"/> and every <paramref name="head"/> tensor.</summary>
    /// <exception cref="BadInputException">A value is missing; the method has no serving form.</exception>
    public static OnnxAdapter Create(IAdapterMethod method, AdapterPlan plan, IEnumerable<TrainableTensor> head,
        IReadOnlyDictionary<string, float[]> values, int modelVersion = 0, int baseModelStamp = 0)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(head);
        ArgumentNullException.ThrowIfNull(values);
        var adapterValues = plan.Parameters.ToDictionary(p => p.Name, p => values.TryGetValue(p.Name, out var v) ? v
            : throw new BadInputException($"no value for adapter tensor '{p.Name}'; export from a trained run."), StringComparer.Ordinal);
        var tensors = ServingForm.For(method).Tensors(plan, adapterValues).ToList();
        foreach (var t in head)
            tensors.Add(OnnxAdapterParameter.Float(t.Name, t.Shape, values.TryGetValue(t.Name, out var v) ? v
                : throw new BadInputException($"no value for head tensor '{t.Name}'; the serving model feeds each adapter's own head.")));
        return new OnnxAdapter(tensors, adapterVersion: baseModelStamp, modelVersion: modelVersion);
    }

    /// <summary>
    /// Writes <paramref name="adapter"/> to <paramref name="path"/> (atomically) and reads it back, so a file that
    /// would not load is never left behind silently.
    /// </summary>
    /// <exception cref="OnnxAdapterException">The written file does not read back identically.</exception>
    public static long Write(string path, OnnxAdapter adapter)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(adapter);
        OnnxAdapterFile.Write(path, adapter);
        var back = OnnxAdapterFile.Read(path);
        foreach (var written in adapter.Parameters)
            if (back.Find(written.Name) is not { } read || read.DataType != written.DataType || !read.Dims.SequenceEqual(written.Dims)
                || !read.Data.Span.SequenceEqual(written.Data.Span))
                throw new OnnxAdapterException(path, $"parameter '{written.Name}' does not read back as written; the disk or file system corrupted it.");
        return new FileInfo(path).Length;
    }
}
