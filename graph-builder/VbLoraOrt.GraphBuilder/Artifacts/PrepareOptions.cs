using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Differentiation.Pruning;
using VbLoraOrt.GraphBuilder.Artifacts.Optimizer;
using VbLoraOrt.GraphBuilder.OrtTraining;
using VbLoraOrt.GraphBuilder.Tasks;

namespace VbLoraOrt.GraphBuilder.Artifacts;

/// <summary>What <see cref="ArtifactBuilder.Prepare"/> builds.</summary>
public sealed record PrepareOptions
{
    /// <summary>The exported base model.</summary>
    public required string ModelPath { get; init; }

    /// <summary>Output folder: created, or an empty folder, or (with <see cref="Overwrite"/>) an earlier prepare's folder.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Replace the artifacts of an earlier prepare in <see cref="OutputDirectory"/> (other files are kept). Default false.</summary>
    public bool Overwrite { get; init; }

    /// <summary>The adapter method, configured.</summary>
    public required IAdapterMethod Method { get; init; }

    /// <summary>Which linear modules to adapt.</summary>
    public required TargetSpec Targets { get; init; }

    /// <summary>Task head and loss.</summary>
    public TaskOptions Task { get; init; } = new();

    /// <summary>WordPiece vocabulary copied into the artifacts for the runner's tokenizer; optional.</summary>
    public string? VocabPath { get; init; }

    /// <summary>
    /// Lower-case and strip accents before WordPiece: null (default) follows the vocabulary (cased when it has upper-case
    /// tokens, see <see cref="Text.VocabularyFacts"/>; uncased without one).
    /// </summary>
    public bool? LowerCase { get; init; }

    /// <summary>Default maximum sequence length recorded for the runner. Default 128.</summary>
    public int MaxLength { get; init; } = 128;

    /// <summary>Seed of the task head's initial values (the adapter has its own in its options). Default 42.</summary>
    public long Seed { get; init; } = 42;

    /// <summary>AdamW constants baked into the optimizer graph.</summary>
    public AdamWOptions Optimizer { get; init; } = new();

    /// <summary>When set, ONNX Runtime's own training artifacts are written too, into <c>ort/</c> (DESIGN.md §3.7).</summary>
    public OrtArtifactOptions? OrtTraining { get; init; }

    /// <summary>Token-state output of the base model the head reads. Default <c>last_hidden_state</c>.</summary>
    public string HiddenStatesOutput { get; init; } = "last_hidden_state";

    /// <summary>
    /// Compute only the positions the task reads (<see cref="PositionPruning"/>): with CLS pooling the last
    /// layer runs on the first token alone after its attention's keys and values. Exact; off only to compare.
    /// Default true.
    /// </summary>
    public bool PrunePositions { get; init; } = true;

    /// <summary>
    /// Emit the training and eval graphs with the base model's decomposed LayerNorms as standard opset-17
    /// <c>LayerNormalization</c> nodes, exact GELUs' <c>1/√2</c> moved into their weights and attention's key
    /// transposes split so ONNX Runtime folds their swap (<see cref="VbLoraOrt.Differentiation.Rewrites.StandardOpRewriter"/>).
    /// The same function, faster; off only to compare. Default true.
    /// </summary>
    public bool StandardOps { get; init; } = true;

    /// <summary>
    /// Shape the training graph's backward for fewer passes (DESIGN.md §4.2): softmax's row sums from the product it
    /// feeds (attention's probabilities times values). The same gradients; off only to compare. Default true.
    /// </summary>
    public bool FusionShapedBackward { get; init; } = true;

    /// <summary>
    /// Apply each target's factors to its weight in the training and eval graphs, <c>x·(W + Aᵀ·Bᵀ)</c>, where the
    /// target's MatMul reads the weight as is (<see cref="TargetForm.Weight"/>): the forward runs the base model's
    /// products and nothing beside them, and the backward takes the factors' gradients through the rank (DESIGN.md
    /// §4.2). The same function; off (the activation form <c>x·W + (x·Aᵀ)·Bᵀ</c>) only to compare. Default true.
    /// </summary>
    public bool AdaptedWeights { get; init; } = true;

    /// <summary>Attention-mask input of the base model. Default <c>attention_mask</c>.</summary>
    public string AttentionMaskInput { get; init; } = "attention_mask";
}
