using Onnx;
using static VbLoraOrt.GraphBuilder.OrtTraining.OrtTrainingNames;

namespace VbLoraOrt.GraphBuilder.OrtTraining;

/// <summary>What every model of ONNX Runtime's training set shares.</summary>
static class OrtModels
{
    /// <summary>Adds the <c>com.microsoft</c> opset (version 1) unless the model imports it already.</summary>
    public static void ImportMicrosoftDomain(ModelProto model)
    {
        if (model.OpsetImport.All(o => o.Domain != MicrosoftDomain))
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = MicrosoftDomain, Version = 1 });
    }
}
