using VbLoraOrt.Adapters;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.GraphBuilder.Serving;

/// <summary>A serving model built by <see cref="ServingModelBuilder"/>.</summary>
/// <param name="Model">The base model plus the composition and the head; its only output is <paramref name="OutputName"/>.</param>
/// <param name="Plan">The method's plan for the targets.</param>
/// <param name="OutputName">The task output (<c>logits</c> or <c>embeddings</c>).</param>
/// <param name="RequestInputs">Inputs each request feeds (token ids, masks): the base model's own inputs.</param>
/// <param name="AdapterInputs">Inputs an adapter feeds (composition tensors, then the head's), each with a zero-update default.</param>
/// <param name="Head">The head's tensors among <paramref name="AdapterInputs"/> (none for embed).</param>
public sealed record ServingModel(OnnxModel Model, AdapterPlan Plan, string OutputName, IReadOnlyList<string> RequestInputs,
    IReadOnlyList<string> AdapterInputs, IReadOnlyList<TrainableTensor> Head);
