using Onnx;
using VbLoraOrt.GraphBuilder.Artifacts.Optimizer;
using VbLoraOrt.Onnx;
using static VbLoraOrt.GraphBuilder.OrtTraining.OrtTrainingNames;

namespace VbLoraOrt.GraphBuilder.OrtTraining;

/// <summary>
/// ONNX Runtime's <c>optimizer_model.onnx</c> (DESIGN.md §3.7): one <c>com.microsoft</c> <c>AdamWOptimizer</c> over
/// sequences of all trainables. Mode 0 with bias correction is the update of the project's own optimizer graph
/// (<see cref="AdamWBlock"/>, PyTorch's AdamW); β1, β2 and ε are the project's <see cref="AdamWOptions"/>, the weight
/// decay is fixed here because ONNX Runtime's optimizer has no input for it.
/// </summary>
public static class OrtOptimizerModel
{
    /// <summary>ONNX Runtime's mode for PyTorch's AdamW (decay first, ε added to √v̂).</summary>
    public const long TorchAdamWMode = 0;

    /// <summary>The optimizer model for <paramref name="adamW"/> with decoupled weight decay <paramref name="weightDecay"/>.</summary>
    public static OnnxModel Build(AdamWOptions adamW, float weightDecay)
    {
        ArgumentNullException.ThrowIfNull(adamW);
        adamW.Validate();
        if (!(weightDecay >= 0 && float.IsFinite(weightDecay)))
            throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "weight decay must be a finite number ≥ 0.");
        var model = new ModelProto { IrVersion = 8, ProducerName = "vblora-graph-builder", Graph = new GraphProto { Name = "ort_adamw" } };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = adamW.Opset });
        OrtModels.ImportMicrosoftDomain(model);
        var graph = model.Graph;
        graph.Input.Add(ValueInfos.Float(AdamWInputs[0], 1));
        graph.Input.Add(ValueInfos.Tensor(AdamWInputs[1], TensorProto.Types.DataType.Int64, 1));
        foreach (string sequence in AdamWInputs.Skip(2))
            graph.Input.Add(FloatSequence(sequence));
        graph.Output.Add(ValueInfos.Tensor(UpdatedFlag, TensorProto.Types.DataType.Bool, 1));
        graph.Node.Add(new NodeProto
        {
            OpType = "AdamWOptimizer",
            Domain = MicrosoftDomain,
            Name = "adamw",
            Input = { AdamWInputs },
            Output = { UpdatedFlag },
            Attribute =
            {
                Attr.Float("alpha", adamW.Beta1), Attr.Float("beta", adamW.Beta2), Attr.Float("epsilon", adamW.Epsilon),
                Attr.Float("weight_decay", weightDecay), Attr.Int("adam_mode", TorchAdamWMode), Attr.Int("correct_bias", 1),
            },
        });
        return OnnxModel.FromProto(model);
    }

    static ValueInfoProto FloatSequence(string name) => new()
    {
        Name = name,
        Type = new TypeProto
        {
            SequenceType = new TypeProto.Types.Sequence
            {
                ElemType = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } },
            },
        },
    };
}
