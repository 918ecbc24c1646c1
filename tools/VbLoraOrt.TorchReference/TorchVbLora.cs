using TorchSharp;
using VbLoraOrt.Adapters.Methods.VbLora;
using static TorchSharp.torch;

namespace VbLoraOrt.TorchReference;

/// <summary>
/// VB-LoRA's factors written in torch, independently of the graph-builder, as DESIGN.md §2.2 states them (and as PEFT's
/// <c>VBLoRALayer</c> computes them): per logits row the top-k values, a softmax over those k, and the weighted sum of
/// the chosen bank vectors; <c>A = reshape(sub_A, [r, in])</c>, <c>B = reshape(transpose(sub_B, [0, 2, 1]), [out, r])</c>.
/// The update is added unscaled: <c>y = x·Wᵀ + b + (x·Aᵀ)·Bᵀ</c> (VB-LoRA has no α/r).
/// </summary>
sealed class TorchVbLora(Tensor bank, int rank, int topK, IReadOnlyDictionary<string, Tensor> parameters)
{
    /// <summary>A <c>[r, in]</c> and B <c>[out, r]</c> of target <paramref name="path"/>, built from the bank and its logits.</summary>
    public (Tensor A, Tensor B) Factors(string path, int inFeatures, int outFeatures)
    {
        var subA = SubVectors(parameters[VbLoraNames.LogitsA(path)]);                    // [r, in/b, b]
        var a = subA.reshape(rank, inFeatures);                                           // [r, in]
        var subB = SubVectors(parameters[VbLoraNames.LogitsB(path)]);                    // [out/b, r, b]
        var b = subB.transpose(1, 2).reshape(outFeatures, rank);                          // [out, r]
        return (a, b);
    }

    /// <summary><c>x·Wᵀ + b + (x·Aᵀ)·Bᵀ</c>.</summary>
    public Tensor Apply(Tensor x, LinearWeights layer)
    {
        var (a, b) = Factors(layer.Path, (int)layer.Weight.shape[1], (int)layer.Weight.shape[0]);
        return nn.functional.linear(x, layer.Weight, layer.Bias) + nn.functional.linear(nn.functional.linear(x, a), b);
    }

    // logits [p, q, h] → Σ_k softmax(top-k values)_k · bank[index_k]  [p, q, b]
    Tensor SubVectors(Tensor logits)
    {
        var (values, indices) = logits.topk(topK, dim: -1);                               // [p, q, k] each
        var weights = values.softmax(-1);                                                 // [p, q, k]
        long[] shape = [.. indices.shape, bank.shape[1]];                                 // [p, q, k, b]
        var picked = bank.index_select(0, indices.flatten()).reshape(shape);
        return (weights.unsqueeze(-1) * picked).sum(-2);                                  // [p, q, b]
    }
}
