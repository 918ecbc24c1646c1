using TorchSharp;
using VbLoraOrt.Contracts.Artifacts;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace VbLoraOrt.TorchReference;

/// <summary>How the torch model computes attention.</summary>
enum AttentionKind
{
    /// <summary><c>scaled_dot_product_attention</c> with the padding mask (libtorch picks its CPU kernel).</summary>
    Sdpa,

    /// <summary>The export's form: <c>softmax(Q·Kᵀ/√d + mask)·V</c> as separate ops.</summary>
    Matmul,
}

/// <summary>
/// all-MiniLM-L6-v2 with VB-LoRA on query and value and a 2-class head, in TorchSharp: the loss of one batch, built by
/// autograd. BERT as the export computes it (word + token-type + position embeddings, LayerNorm, per layer self-attention
/// with the padding mask, output projection and residual LayerNorm, exact erf GELU feed-forward and residual LayerNorm),
/// then the pooling the artifacts use (masked mean, as sentence-transformers, or the first token), the linear head
/// (<c>pooled·W + b</c>, W <c>[hidden, labels]</c> as our head stores it) and mean cross-entropy.
/// </summary>
sealed class TorchMiniLm(MiniLmWeights weights, TorchVbLora adapter, IReadOnlySet<string> targets, Tensor headWeight, Tensor headBias,
    Pooling pooling, AttentionKind attention)
{
    // The export adds (1 − mask)·(−10000) to the scores; exp of that underflows to exactly 0 in float32.
    const float MaskedScore = -10000f;

    /// <summary>Mean cross-entropy of the batch.</summary>
    /// <param name="inputIds">int64 <c>[batch, seq]</c>.</param>
    /// <param name="tokenTypeIds">int64 <c>[batch, seq]</c>.</param>
    /// <param name="attentionMask">int64 <c>[batch, seq]</c>, 1 for real tokens.</param>
    /// <param name="labels">int64 <c>[batch]</c>.</param>
    public Tensor Loss(Tensor inputIds, Tensor tokenTypeIds, Tensor attentionMask, Tensor labels) =>
        F.cross_entropy(Logits(inputIds, tokenTypeIds, attentionMask), labels);

    /// <summary>The head's logits <c>[batch, labels]</c>.</summary>
    public Tensor Logits(Tensor inputIds, Tensor tokenTypeIds, Tensor attentionMask)
    {
        long sequence = inputIds.shape[1];
        var mask = attentionMask.to_type(ScalarType.Float32);                                          // [B, S]
        var scoreMask = ((1f - mask) * MaskedScore).reshape(mask.shape[0], 1, 1, sequence);           // [B, 1, 1, S]

        var positions = arange(sequence, dtype: ScalarType.Int64);
        var x = weights.WordEmbeddings.index_select(0, inputIds.flatten()).reshape(inputIds.shape[0], sequence, weights.Hidden)
                + weights.TokenTypeEmbeddings.index_select(0, tokenTypeIds.flatten()).reshape(inputIds.shape[0], sequence, weights.Hidden)
                + weights.PositionEmbeddings.index_select(0, positions);                              // [B, S, H]
        x = Norm(x, weights.EmbeddingNorm);
        foreach (var layer in weights.Layers)
        {
            x = Norm(F.linear(SelfAttention(x, layer, scoreMask), layer.AttentionOutput.Weight, layer.AttentionOutput.Bias) + x, layer.AttentionNorm);
            var inner = F.gelu(F.linear(x, layer.Intermediate.Weight, layer.Intermediate.Bias));        // exact (erf) GELU
            x = Norm(F.linear(inner, layer.Output.Weight, layer.Output.Bias) + x, layer.OutputNorm);
        }

        var pooled = pooling == Pooling.Cls
            ? x.select(1, 0)                                                                           // [B, H]
            : (x * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim: true).clamp_min(1e-9);           // [B, H]
        return pooled.matmul(headWeight) + headBias;                                                   // [B, labels]
    }

    Tensor SelfAttention(Tensor x, EncoderLayerWeights layer, Tensor scoreMask)
    {
        long batch = x.shape[0], sequence = x.shape[1];
        int heads = MiniLmWeights.AttentionHeads, size = weights.Hidden / heads;
        Tensor Heads(Tensor t) => t.view(batch, sequence, heads, size).transpose(1, 2);               // [B, heads, S, d]
        var q = Heads(Project(x, layer.Query));
        var k = Heads(Project(x, layer.Key));
        var v = Heads(Project(x, layer.Value));
        var context = attention == AttentionKind.Sdpa
            ? F.scaled_dot_product_attention(q, k, v, attn_mask: scoreMask)
            : (q.matmul(k.transpose(-1, -2)) / Math.Sqrt(size) + scoreMask).softmax(-1).matmul(v);
        return context.transpose(1, 2).reshape(batch, sequence, weights.Hidden);                      // [B, S, H]
    }

    Tensor Project(Tensor x, LinearWeights layer) =>
        targets.Contains(layer.Path) ? adapter.Apply(x, layer) : F.linear(x, layer.Weight, layer.Bias);

    Tensor Norm(Tensor x, LayerNormWeights norm) =>
        F.layer_norm(x, [weights.Hidden], norm.Weight, norm.Bias, weights.LayerNormEpsilon);
}
