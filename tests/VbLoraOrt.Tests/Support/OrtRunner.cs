using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Tests.Support;

/// <summary>Runs a model on ORT's CPU provider with all optimizations and returns named outputs.</summary>
public static class OrtRunner
{
    public static Dictionary<string, Tensor<float>> Run(OnnxModel model, IReadOnlyDictionary<string, object> inputs, params string[] outputs) =>
        Run(model.ToBytesInline(), inputs, outputs);

    public static Dictionary<string, Tensor<float>> RunFile(string path, IReadOnlyDictionary<string, object> inputs, params string[] outputs)
    {
        using var options = NewOptions();
        using var session = new InferenceSession(path, options);
        return Run(session, inputs, outputs);
    }

    public static Dictionary<string, Tensor<float>> Run(byte[] model, IReadOnlyDictionary<string, object> inputs, params string[] outputs)
    {
        using var options = NewOptions();
        using var session = new InferenceSession(model, options);
        return Run(session, inputs, outputs);
    }

    static SessionOptions NewOptions() => new()
    {
        GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        IntraOpNumThreads = 2,
    };

    static Dictionary<string, Tensor<float>> Run(InferenceSession session, IReadOnlyDictionary<string, object> inputs, string[] outputs)
    {
        var values = inputs.Select(kv => kv.Value switch
        {
            Tensor<float> f => NamedOnnxValue.CreateFromTensor(kv.Key, f),
            Tensor<double> d => NamedOnnxValue.CreateFromTensor(kv.Key, d),
            Tensor<long> l => NamedOnnxValue.CreateFromTensor(kv.Key, l),
            _ => throw new ArgumentException($"unsupported input type for {kv.Key}"),
        }).ToList();
        string[] wanted = outputs.Length > 0 ? outputs : session.OutputMetadata.Keys.ToArray();
        using var results = session.Run(values, wanted);
        return results.ToDictionary(r => r.Name, r => r.Value switch
        {
            Tensor<float> f => f.Clone(),
            Tensor<double> d => ToFloat(d),
            _ => throw new ArgumentException($"output {r.Name} is not float"),
        });
    }

    static Tensor<float> ToFloat(Tensor<double> d)
    {
        var t = new DenseTensor<float>(d.Dimensions);
        var source = d.ToDenseTensor().Buffer.Span;
        for (int i = 0; i < source.Length; i++) t.SetValue(i, (float)source[i]);
        return t;
    }

    public static float MaxAbsDiff(Tensor<float> a, Tensor<float> b)
    {
        CollectionAssert.AreEqual(a.Dimensions.ToArray(), b.Dimensions.ToArray(), "shapes differ");
        var sa = a.ToDenseTensor().Buffer.Span;
        var sb = b.ToDenseTensor().Buffer.Span;
        float max = 0;
        for (int i = 0; i < sa.Length; i++)
            max = Math.Max(max, Math.Abs(sa[i] - sb[i]));
        return max;
    }

    /// <summary>max |expected − actual| / max |expected|: one number for a whole tensor, blind to where it is small.</summary>
    public static double RelativeError(float[] expected, float[] actual)
    {
        Assert.HasCount(expected.Length, actual);
        double diff = 0, norm = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            diff = Math.Max(diff, Math.Abs(expected[i] - actual[i]));
            norm = Math.Max(norm, Math.Abs(expected[i]));
        }
        return diff / Math.Max(norm, 1e-30);
    }
}
