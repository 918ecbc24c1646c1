using VbLoraOrt.Adapters.Interchange;
using VbLoraOrt.Adapters.Peft;
using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Tests.Interchange;

/// <summary>
/// PEFT directories written by the tests themselves, as PEFT lays them out and without any of this project's metadata:
/// <c>adapter_config.json</c> text and <c>adapter_model.safetensors</c> with metadata <c>{"format": "pt"}</c> only.
/// Also PEFT's formulas for ΔW, written here independently of the product.
/// </summary>
internal static class PeftHandWritten
{
    public static void Write(string directory, string configJson, IEnumerable<SafeTensor> tensors)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, PeftKeys.ConfigFileName), configJson);
        SafetensorsFile.Write(Path.Combine(directory, PeftKeys.WeightsFileName), tensors.ToList(), new Dictionary<string, string> { ["format"] = "pt" });
    }

    /// <summary>A config with PEFT's common fields and the given method fields (JSON fragments, e.g. <c>"r": 2</c>).</summary>
    public static string Config(string peftType, string targetModules, params string[] fields) =>
        "{\n  \"base_model_name_or_path\": null,\n  \"inference_mode\": true,\n  \"modules_to_save\": null,\n" +
        $"  \"peft_type\": \"{peftType}\",\n  \"target_modules\": {targetModules},\n  \"task_type\": null" +
        string.Concat(fields.Select(f => ",\n  " + f)) + "\n}";

    public static SafeTensor U8(string name, long[] shape, IEnumerable<int> values) => new(name, "U8", shape, values.Select(v => (byte)v).ToArray());

    public static SafeTensor I16(string name, long[] shape, IEnumerable<int> values) =>
        new(name, "I16", shape, values.SelectMany(v => BitConverter.GetBytes((short)v)).ToArray());

    // ΔW [out, in] = scale · B [out, r] · A [r, in], in double.
    public static double[] Delta(float[] a, float[] b, int r, int input, int output, double scale = 1)
    {
        var delta = new double[output * input];
        for (int o = 0; o < output; o++)
            for (int i = 0; i < input; i++)
            {
                double sum = 0;
                for (int k = 0; k < r; k++)
                    sum += (double)b[o * r + k] * a[k * input + i];
                delta[o * input + i] = scale * sum;
            }
        return delta;
    }

    // VB-LoRA's sub-vector from PEFT's top-k form: Σ_j w_j · bank[idx_j], with w_k = 1 − Σ of the stored k−1.
    public static double[] Mix(float[] bank, int b, int[] indices, float[] storedWeights)
    {
        var w = storedWeights.Select(x => (double)x).Append(1 - storedWeights.Sum(x => (double)x)).ToArray();
        var sub = new double[b];
        for (int j = 0; j < indices.Length; j++)
            for (int c = 0; c < b; c++)
                sub[c] += w[j] * bank[indices[j] * b + c];
        return sub;
    }

    // PEFT's layout of VB-LoRA factors from sub-vectors: A [r, in] is sub_A [r, in/b, b] row-major; B [out, r] is
    // sub_B [out/b, r, b] transposed to [out/b, b, r].
    public static (float[] A, float[] B) VbLoraFactors(Func<int, int, double[]> subA, Func<int, int, double[]> subB, int r, int input, int output, int b)
    {
        var a = new float[r * input];
        for (int k = 0; k < r; k++)
            for (int blk = 0; blk < input / b; blk++)
            {
                var sub = subA(k, blk);
                for (int c = 0; c < b; c++) a[k * input + blk * b + c] = (float)sub[c];
            }
        var bm = new float[output * r];
        for (int blk = 0; blk < output / b; blk++)
            for (int k = 0; k < r; k++)
            {
                var sub = subB(blk, k);
                for (int c = 0; c < b; c++) bm[(blk * b + c) * r + k] = (float)sub[c];
            }
        return (a, bm);
    }

    /// <summary>
    /// Checks that <paramref name="module"/>'s merged weight is its base weight plus <paramref name="expected"/> ΔW
    /// <c>[out, in]</c>: within 1e-6 of ΔW's largest entry, plus the one rounding of storing W + ΔW as float32.
    /// </summary>
    public static void AssertMerged(OnnxModel baseModel, OnnxModel merged, LinearModule module, double[] expected, string what)
    {
        float[] before = baseModel.Tensors.ReadFloats(baseModel.Graph.Initializer.Single(t => t.Name == module.WeightName));
        float[] after = merged.Tensors.ReadFloats(merged.Graph.Initializer.Single(t => t.Name == module.WeightName));
        double scale = expected.Max(Math.Abs);
        Assert.IsGreaterThan(0, scale, $"{what}: ΔW is zero, the check would prove nothing");
        int input = module.InFeatures, output = module.OutFeatures;
        for (int o = 0; o < output; o++)
            for (int i = 0; i < input; i++)
            {
                long at = module.Layout == WeightLayout.InOut ? (long)i * output + o : (long)o * input + i;
                double error = Math.Abs((double)after[at] - before[at] - expected[o * input + i]);
                double allowed = 1e-6 * scale + Math.Abs(after[at]) * 1.2e-7;
                Assert.IsLessThanOrEqualTo(allowed, error, $"{what}: ΔW[{o},{i}] off by {error:E2}");
            }
    }

    public static void AssertClose(double[] expected, double[] actual, string what, double relative = 1e-6)
    {
        double scale = expected.Max(Math.Abs);
        Assert.IsGreaterThan(0, scale, $"{what}: ΔW is zero, the check would prove nothing");
        double worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.IsLessThanOrEqualTo(relative, worst / scale, $"{what}: max |ΔW − PEFT's ΔW| / max |ΔW| = {worst / scale:E2}");
    }
}
