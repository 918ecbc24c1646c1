using Microsoft.ML.OnnxRuntime;
using Onnx;
using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Discovery;
using VbLoraOrt.Adapters.Merging;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Serving;
using VbLoraOrt.GraphBuilder.Tasks;
using VbLoraOrt.Onnx;
using VbLoraOrt.OrtFormats.Adapters;
using VbLoraOrt.Tests.Adapters;
using VbLoraOrt.Tests.Contract;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Serving;

/// <summary>
/// A tiny text encoder (token embedding → two adapted linear layers → token states) with a mean-pooled 3-class head,
/// its serving model and folder, trained-looking adapters, and the merged model of an adapter as the reference.
/// </summary>
static class TinyServing
{
    public const int Hidden = 8, Labels = 3;

    /// <summary>layer1's output width: the two targets differ in shape (8→12, 12→8), so per-target offsets into a
    /// composition shared by all targets are checked.</summary>
    public const int Wide = 12;

    /// <summary>Vocabulary: the specials, then <see cref="Words"/>.</summary>
    static readonly string[] Specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

    /// <summary>The lines of the vocabulary file.</summary>
    public static string[] VocabularyLines => [.. Specials, .. Words];

    /// <summary>The words of the vocabulary.</summary>
    public static readonly string[] Words =
        ["hello", "world", "free", "cruise", "lunch", "noon", "click", "now", "win", "money", "meeting", "today", "offer", "at", "the"];

    public static readonly TaskInfo Task = new(TaskKind.Classify, Labels, Pooling.Mean, ["ham", "spam", "other"]);

    public static readonly BaseModelInfo Info = new("tiny.onnx", new string('0', 64), 13, "last_hidden_state", Hidden);

    static int VocabSize => Specials.Length + Words.Length;

    /// <summary>input_ids, attention_mask [batch, seq] → Gather(embedding) → layer1 (MatMul+bias, 8→12) → Tanh → layer2 (12→8) → last_hidden_state.</summary>
    public static OnnxModel Encoder()
    {
        var m = TinyModels.NewModel();
        var g = m.Graph;
        g.Input.Add(TinyModels.Value("input_ids", (int)TensorProto.Types.DataType.Int64, "batch", "seq"));
        g.Input.Add(TinyModels.Value("attention_mask", (int)TensorProto.Types.DataType.Int64, "batch", "seq"));
        g.Output.Add(TinyModels.FloatValue("last_hidden_state", "batch", "seq", Hidden));
        g.Initializer.Add(Tensors.Float("embeddings.weight", [VocabSize, Hidden], TinyModels.Random(VocabSize * Hidden, 31)));
        g.Initializer.Add(Tensors.Float("201", [Hidden, Wide], TinyModels.Random(Hidden * Wide, 32, 0.5f)));
        g.Initializer.Add(Tensors.Float("layer1.bias", [Wide], TinyModels.Random(Wide, 33, 0.1f)));
        g.Initializer.Add(Tensors.Float("202", [Wide, Hidden], TinyModels.Random(Wide * Hidden, 34, 0.5f)));
        g.Initializer.Add(Tensors.Float("layer2.bias", [Hidden], TinyModels.Random(Hidden, 35, 0.1f)));
        g.Node.Add(TinyModels.Node("Gather", ["embeddings.weight", "input_ids"], ["e"], "Gather_0"));
        g.Node.Add(TinyModels.Node("MatMul", ["e", "201"], ["m1"], "MatMul_1"));
        g.Node.Add(TinyModels.Node("Add", ["m1", "layer1.bias"], ["h1"], "Add_1"));
        g.Node.Add(TinyModels.Node("Tanh", ["h1"], ["t1"], "Tanh_1"));
        g.Node.Add(TinyModels.Node("MatMul", ["t1", "202"], ["m2"], "MatMul_2"));
        g.Node.Add(TinyModels.Node("Add", ["m2", "layer2.bias"], ["last_hidden_state"], "Add_2"));
        return OnnxModel.FromProto(m);
    }

    public static IReadOnlyList<LinearModule> Targets(OnnxModel encoder) => LinearModuleFinder.Find(encoder);

    /// <summary>The method's tiny configuration from the method contract (vector length 4 divides 8).</summary>
    public static IAdapterMethod Method(string name, int? numVectors = null)
    {
        var options = new Dictionary<string, object?>(MethodContractTests.Methods[name].TinyOptions);
        if (numVectors is int h)
            options["num-vectors"] = h;
        var descriptor = AdapterMethods.Find(name);
        return descriptor.Create(MethodOptionValues.For(descriptor, options), 42);
    }

    public static ServingModel Build(IAdapterMethod method, ServingFormChoice form = ServingFormChoice.Switch)
    {
        var encoder = Encoder();
        return ServingModelBuilder.Build(encoder, method, Targets(encoder), Task, Info, form);
    }

    /// <summary>Adapter and head values far from the zero update, different per seed.</summary>
    public static Dictionary<string, float[]> Values(ServingModel serving, int seed)
    {
        var values = AdapterFixtures.TrainedLooking(serving.Plan, seed);
        foreach (var (t, i) in serving.Head.Select((t, i) => (t, i)))
            values[t.Name] = TinyModels.Random((int)t.ElementCount, seed * 7 + i, 0.5f);
        return values;
    }

    public static OnnxAdapter Adapter(IAdapterMethod method, ServingModel serving, IReadOnlyDictionary<string, float[]> values) =>
        ServingAdapter.Create(method, serving.Plan, serving.Head, values);

    /// <summary>The reference: the adapter folded into the encoder's weights (computed in C#), the head appended with its values.</summary>
    public static OnnxModel Merged(IAdapterMethod method, ServingModel serving, IReadOnlyDictionary<string, float[]> values) =>
        Merged(Encoder(), Info, method, serving, values);

    /// <summary>The reference for any encoder: the adapter folded into its weights (computed in C#), the task's head appended with its values.</summary>
    public static OnnxModel Merged(OnnxModel encoder, BaseModelInfo info, IAdapterMethod method, ServingModel serving, IReadOnlyDictionary<string, float[]> values)
    {
        var adapterValues = serving.Plan.Parameters.ToDictionary(p => p.Name, p => values[p.Name]);
        var merged = AdapterMerger.Merge(encoder, method.ComputeFactors(serving.Plan, adapterValues));
        TaskHead.Append(merged, new TaskOptions { Kind = Task.Kind, NumLabels = Task.NumLabels, Pooling = Task.Pooling }, info.OutputName,
            info.AttentionMaskInput, info.HiddenSize, withLoss: false, headAsInputs: false, seed: 0,
            serving.Head.ToDictionary(t => t.Name, t => values[t.Name]));
        return merged;
    }

    /// <summary>A serving folder (model, vocabulary, manifest) for <paramref name="serving"/>; returns its path.</summary>
    public static string WriteFolder(IAdapterMethod method, ServingModel serving)
    {
        string dir = PreparedArtifacts.NewFolder("vblora-serving");
        serving.Model.Save(Path.Combine(dir, ServingManifest.ModelFileName));
        File.WriteAllLines(Path.Combine(dir, ServingManifest.VocabFileName), VocabularyLines);
        new ServingManifest
        {
            Method = method.Name,
            MethodOptions = method.SaveOptions(),
            Targets = serving.Plan.Targets,
            Task = Task,
            Tokenizer = new TokenizerInfo(ServingManifest.VocabFileName, LowerCase: true, MaxLength: 16),
            OutputName = serving.OutputName,
            RequestInputs = serving.RequestInputs,
            AdapterInputs = serving.AdapterInputs,
            BaseModelSha256 = Info.Sha256,
        }.Save(Path.Combine(dir, ServingManifest.FileName));
        return dir;
    }

    /// <summary>Token ids [batch, seq] (rows padded with 0) and their mask as ONNX Runtime values.</summary>
    public static (string[] Names, OrtValue[] Values) Feeds(long[][] ids)
    {
        int batch = ids.Length, seq = ids.Max(r => r.Length);
        var input = new long[batch * seq];
        var mask = new long[batch * seq];
        for (int b = 0; b < batch; b++)
            for (int s = 0; s < ids[b].Length; s++)
            {
                input[b * seq + s] = ids[b][s];
                mask[b * seq + s] = 1;
            }
        return (["input_ids", "attention_mask"],
            [OrtValue.CreateTensorValueFromMemory(input, [batch, seq]), OrtValue.CreateTensorValueFromMemory(mask, [batch, seq])]);
    }

    /// <summary>Runs <paramref name="session"/> on <paramref name="ids"/> with <paramref name="options"/>; returns the flat logits.</summary>
    public static float[] Logits(InferenceSession session, RunOptions options, long[][] ids)
    {
        var (names, values) = Feeds(ids);
        return Logits(session, options, names, values);
    }

    /// <summary>Runs <paramref name="session"/> on the request inputs <paramref name="values"/>, then disposes them; returns the flat logits.</summary>
    public static float[] Logits(InferenceSession session, RunOptions options, string[] names, OrtValue[] values)
    {
        try
        {
            using var results = session.Run(options, names, values, [ArtifactNames.Logits]);
            return results[0].GetTensorDataAsSpan<float>().ToArray();
        }
        finally
        {
            foreach (var v in values)
                v.Dispose();
        }
    }

    public static float MaxAbsDiff(float[] a, float[] b)
    {
        Assert.HasCount(a.Length, b);
        return a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
    }
}
