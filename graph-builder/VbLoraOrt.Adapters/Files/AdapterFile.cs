using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters.Files;

/// <summary>
/// The shipped adapter: one safetensors file holding the trained adapter in its <b>stored form</b> (DESIGN.md §2),
/// the task head, and metadata to rebuild both on the base model.
/// <list type="bullet">
/// <item>The adapter: the method's stored form (<see cref="IAdapterMethod.Encode"/>, DESIGN.md §2 and §3.6), under
/// PEFT's keys.</item>
/// <item>Classify head: <c>head.classifier.weight</c> <c>[labels, hidden]</c> in torch <c>Linear.weight</c> layout
/// (the transpose of the graph's <c>head_classifier_weight</c> <c>[hidden, labels]</c>) and <c>head.classifier.bias</c>
/// <c>[labels]</c>. Embed has no head tensors.</item>
/// <item><c>__metadata__</c>: <c>format</c> = <c>pt</c> (for Hugging Face tools), <c>vblora_ort.format</c> and
/// <c>vblora_ort.format_version</c>, <c>method</c>, <c>method_options</c>, <c>targets</c> (JSON of the linear
/// modules: path, node, weight name, in/out features, layout…), <c>target_spec</c>, <c>task</c>, <c>base_model</c>
/// (file name, SHA-256, hidden-state output, hidden size) and <c>artifacts_identity</c>.</item>
/// </list>
/// Loading gives parameters fit for inference and merging; whether they can be trained further is the method's
/// <see cref="IAdapterMethod.StoredFormTrainable"/>.
/// </summary>
public static class AdapterFile
{
    /// <summary>The usual file extension.</summary>
    public const string Extension = ".safetensors";

    /// <summary>Writes the trained adapter and head of <paramref name="manifest"/>'s artifacts to <paramref name="path"/>, atomically.</summary>
    /// <param name="path">The adapter file to write (replaced if it exists, only once the new one is complete).</param>
    /// <param name="manifest">The artifacts the values were trained with.</param>
    /// <param name="trainedValues">Every trainable tensor of the manifest by name, row-major (extra entries, e.g. moments, are ignored).</param>
    /// <returns>The file's size and stored parameter counts.</returns>
    /// <exception cref="AdapterException">A trainable value is missing or has the wrong length.</exception>
    /// <exception cref="BadInputException">A value is not finite, or the manifest does not describe what its method plans.</exception>
    public static AdapterFileSummary Save(string path, ArtifactManifest manifest, IReadOnlyDictionary<string, float[]> trainedValues)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(trainedValues);
        var (method, plan) = AdapterMethods.PlanOf(manifest, "the artifacts' manifest");

        var adapterValues = plan.Parameters.Where(p => trainedValues.ContainsKey(p.Name)).ToDictionary(p => p.Name, p => trainedValues[p.Name]);
        plan.CheckValues(adapterValues);
        var head = manifest.Trainables.Where(t => t.Group == ParameterGroups.Head).ToList();
        foreach (var t in head.Concat(plan.Parameters))
            RequireFinite(t.Name, t.ElementCount, trainedValues);

        var tensors = method.Encode(plan, adapterValues).Concat(head.Select(t => HeadTensor(t, trainedValues[t.Name]))).ToList();
        SafetensorsFile.Write(path, tensors, AdapterFileMetadata.From(manifest).ToStrings());
        return Summarize(path, tensors);
    }

    /// <summary>Reads and checks an adapter file written by <see cref="Save"/>.</summary>
    /// <exception cref="BadInputException">
    /// The file is missing, truncated or malformed: metadata missing or of another format, a tensor missing, extra or
    /// of the wrong dtype/shape, an index outside the bank or repeated in a row, weights outside [0, 1] or summing to
    /// more than 1. The message names the file and the problem.
    /// </exception>
    public static StoredAdapter Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var (tensors, metadata) = SafetensorsFile.Read(path);
        var stored = new StoredTensors(path, tensors);
        var meta = AdapterFileMetadata.Parse(stored, metadata);
        var (method, plan) = Rebuild(stored, meta);

        var values = method.Decode(plan, stored);
        if (meta.Task.Kind == TaskKind.Classify)
        {
            int hidden = meta.BaseModel.HiddenSize, labels = meta.Task.NumLabels;
            var weight = stored.TakeFiniteFloats(StoredTensorNames.HeadWeight, [labels, hidden]);
            values[ArtifactNames.HeadWeight] = Transpose(weight, labels, hidden);                       // [hidden, labels]
            values[ArtifactNames.HeadBias] = stored.TakeFiniteFloats(StoredTensorNames.HeadBias, [labels]);
        }
        stored.RequireAllTaken();
        return new StoredAdapter
        {
            Path = path,
            Method = meta.Method,
            MethodOptions = meta.MethodOptions,
            Targets = meta.Targets,
            TargetSpec = meta.TargetSpec,
            Plan = plan,
            Task = meta.Task,
            BaseModel = meta.BaseModel,
            ArtifactsIdentity = meta.ArtifactsIdentity,
            Parameters = values,
            TrainableAgain = method.StoredFormTrainable,
            Summary = Summarize(path, tensors),
        };
    }

    static (IAdapterMethod Method, AdapterPlan Plan) Rebuild(StoredTensors stored, AdapterFileMetadata meta)
    {
        IAdapterMethod method;
        AdapterPlan plan;
        try
        {
            method = AdapterMethods.Create(meta.Method, meta.MethodOptions);
            plan = method.Plan(meta.Targets);
        }
        catch (BadInputException e)
        {
            throw stored.Bad($"its method, options and targets do not form an adapter: {e.Message.TrimEnd('.')}");
        }
        return (method, plan);
    }


    static void RequireFinite(string name, long count, IReadOnlyDictionary<string, float[]> values)
    {
        if (!values.TryGetValue(name, out float[]? v))
            throw new AdapterException($"no value given for trainable tensor '{name}'.");
        if (v.LongLength != count)
            throw new AdapterException($"trainable tensor '{name}' has {v.LongLength} values, its shape needs {count}.");
        int bad = Array.FindIndex(v, x => !float.IsFinite(x));
        if (bad >= 0)
            throw new BadInputException($"trainable tensor '{name}' has a non-finite value ({v[bad]}) at element {bad}; training diverged, export an earlier checkpoint instead.");
    }

    static SafeTensor HeadTensor(TrainableTensor t, float[] values) => t.Name switch
    {
        ArtifactNames.HeadWeight => SafeTensor.F32(StoredTensorNames.HeadWeight, [t.Shape[1], t.Shape[0]],
            Transpose(values, (int)t.Shape[0], (int)t.Shape[1])),                                    // [labels, hidden]
        ArtifactNames.HeadBias => SafeTensor.F32(StoredTensorNames.HeadBias, t.Shape, values),
        _ => throw new NotSupportedException($"head tensor '{t.Name}' has no place in the adapter file."),
    };

    // [rows, columns] → [columns, rows]
    static float[] Transpose(float[] values, int rows, int columns)
    {
        var result = new float[values.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++)
                result[(long)c * rows + r] = values[(long)r * columns + c];
        return result;
    }

    static AdapterFileSummary Summarize(string path, IReadOnlyList<SafeTensor> tensors)
    {
        bool IsHead(SafeTensor t) => t.Name is StoredTensorNames.HeadWeight or StoredTensorNames.HeadBias;
        double stored = tensors.Where(t => !IsHead(t)).Sum(t => t.Data.LongLength / 4.0);
        long head = tensors.Where(IsHead).Sum(t => t.Data.LongLength / 4);
        return new AdapterFileSummary(path, new FileInfo(path).Length, stored, head);
    }
}
