using Microsoft.ML.OnnxRuntime.Tensors;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runner.Demo;

namespace VbLoraOrt.Tests.Support;

/// <summary>all-MiniLM-L6-v2, restored by the build and extracted once per machine.</summary>
public static class RealModel
{
    static readonly Lazy<DemoModelFiles> Files = new(() => DemoModel.Ensure());

    public static string ModelPath => Files.Value.ModelPath;
    public static string VocabPath => Files.Value.VocabPath;

    /// <summary>Fixed token ids of a few short sentences, padded to equal length: [batch, seq].</summary>
    public static Dictionary<string, object> Batch(long[][] ids)
    {
        int batch = ids.Length, seq = ids.Max(r => r.Length);
        var input = new DenseTensor<long>([batch, seq]);
        var mask = new DenseTensor<long>([batch, seq]);
        var types = new DenseTensor<long>([batch, seq]);
        for (int b = 0; b < batch; b++)
            for (int s = 0; s < ids[b].Length; s++)
            {
                input[b, s] = ids[b][s];
                mask[b, s] = 1;
            }
        return new() { ["input_ids"] = input, ["attention_mask"] = mask, ["token_type_ids"] = types };
    }

    /// <summary>8 real sentences, tokenized by Hugging Face's bert-base-uncased tokenizer for this vocab.</summary>
    public static readonly long[][] EightSentences =
    [
        [101, 1996, 4937, 2938, 2006, 1996, 13523, 1012, 102],             // the cat sat on the mat.
        [101, 2023, 2003, 1037, 3231, 6251, 1012, 102],                    // this is a test sentence.
        [101, 2017, 2180, 1037, 2489, 4440, 999, 2655, 2085, 999, 102],    // you won a free trip! call now!
        [101, 1996, 3116, 2003, 2333, 2000, 9432, 1012, 102],              // the meeting is moved to thursday.
        [101, 4638, 2041, 2023, 2307, 3066, 1012, 102],                    // check out this great deal.
        [101, 2292, 1005, 1055, 2131, 6265, 4826, 1012, 102],              // let's get lunch tomorrow.
        [101, 1996, 3712, 2003, 2630, 1012, 102],                          // the sky is blue.
        [101, 4067, 2017, 2005, 2115, 2393, 1012, 102],                    // thank you for your help.
    ];
}
