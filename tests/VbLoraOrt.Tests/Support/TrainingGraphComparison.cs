using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Artifacts;

namespace VbLoraOrt.Tests.Support;

/// <summary>
/// Runs two artifact folders prepared from the same model with different graph options on the same batch and
/// non-zero trainable values, and compares their loss, every gradient and their eval logits.
/// </summary>
static class TrainingGraphComparison
{
    public const double Tolerance = 1e-5;

    /// <summary>Prepares artifacts twice under <paramref name="root"/>, with an option on and off; returns both folders.</summary>
    public static (string On, string Off) PrepareBoth(string root, Func<bool, string, PrepareOptions> options)
    {
        string on = Path.Combine(root, Guid.NewGuid().ToString("N")), off = Path.Combine(root, Guid.NewGuid().ToString("N"));
        ArtifactBuilder.Prepare(options(true, on));
        ArtifactBuilder.Prepare(options(false, off));
        return (on, off);
    }

    /// <summary>Asserts the same loss and gradient of every trainable (each non-zero, so the comparison proves something).</summary>
    public static ArtifactManifest AssertSameTraining(string expectedFolder, string actualFolder, IReadOnlyDictionary<string, object> data, long[] labels)
    {
        var manifest = ArtifactManifest.Load(Path.Combine(actualFolder, ArtifactNames.Manifest));
        var feeds = Feeds(manifest, data, labels);
        var expected = Run(Path.Combine(expectedFolder, ArtifactNames.TrainingModel), feeds);
        var actual = Run(Path.Combine(actualFolder, ArtifactNames.TrainingModel), feeds);

        Assert.IsLessThanOrEqualTo(Tolerance, OrtRunner.RelativeError(expected[ArtifactNames.Loss], actual[ArtifactNames.Loss]), "loss");
        foreach (var t in manifest.Trainables)
        {
            string grad = ArtifactNames.Grad(t.Name);
            Assert.IsTrue(expected[grad].Any(v => v != 0), $"{grad} is zero: the comparison would prove nothing");
            Assert.IsLessThanOrEqualTo(Tolerance, OrtRunner.RelativeError(expected[grad], actual[grad]), grad);
        }
        return manifest;
    }

    /// <summary>Asserts the same logits from both folders' eval graphs.</summary>
    public static void AssertSameLogits(string expectedFolder, string actualFolder, ArtifactManifest manifest, IReadOnlyDictionary<string, object> data, long[] labels)
    {
        var feeds = Feeds(manifest, data, labels);
        var expected = Run(Path.Combine(expectedFolder, ArtifactNames.EvalModel), feeds);
        var actual = Run(Path.Combine(actualFolder, ArtifactNames.EvalModel), feeds);
        Assert.IsLessThanOrEqualTo(Tolerance, OrtRunner.RelativeError(expected[ArtifactNames.Logits], actual[ArtifactNames.Logits]), "logits");
    }

    // The data, labels, and non-zero values for every trainable (so every adapter acts and every gradient flows).
    internal static List<NamedOnnxValue> Feeds(ArtifactManifest manifest, IReadOnlyDictionary<string, object> data, long[] labels)
    {
        var feeds = data.Select(kv => NamedOnnxValue.CreateFromTensor(kv.Key, (DenseTensor<long>)kv.Value)).ToList();
        feeds.Add(NamedOnnxValue.CreateFromTensor(manifest.LabelInputs.Single(), new DenseTensor<long>(labels, [labels.Length])));
        foreach (var t in manifest.Trainables)
        {
            float[] values = TinyModels.Random((int)t.ElementCount, t.Name.Length * 31 + (int)t.ElementCount, 0.3f);
            feeds.Add(NamedOnnxValue.CreateFromTensor(t.Name, new DenseTensor<float>(values, t.Shape.Select(d => (int)d).ToArray())));
        }
        return feeds;
    }

    internal static Dictionary<string, float[]> Run(string model, List<NamedOnnxValue> feeds)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = 2 };
        using var session = new InferenceSession(model, options);
        using var results = session.Run(feeds.Where(f => session.InputMetadata.ContainsKey(f.Name)).ToList());
        return results.ToDictionary(r => r.Name, r => r.AsTensor<float>().ToArray());
    }
}
