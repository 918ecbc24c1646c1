using Microsoft.ML.OnnxRuntime;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Runtime.Sessions;

namespace VbLoraOrt.TorchReference;

/// <summary>
/// Our side of the gradient check: one run of the artifacts' <c>training_model.onnx</c> (the graph <c>Trainer</c> steps)
/// on the fixed batch at the initial values, fetching <c>loss</c> and every <c>&lt;param&gt;_grad</c>.
/// </summary>
static class OrtGradients
{
    public static (float Loss, Dictionary<string, float[]> Gradients) Run(DeviceSessions device, ReferenceSetup setup)
    {
        var trainables = setup.Folder.Manifest.Trainables;
        using var session = device.CreateSession(setup.Folder.TrainingModel);
        var names = new List<string>();
        var values = new List<OrtValue>();
        try
        {
            foreach (var input in setup.Batch)
            {
                names.Add(input.Name);
                values.Add(input.ToOrtValue());
            }
            foreach (var t in trainables)
            {
                names.Add(t.Name);
                values.Add(OrtValue.CreateTensorValueFromMemory((float[])setup.InitialValue(t.Name).Clone(), t.Shape));
            }
            string[] outputs = [ArtifactNames.Loss, .. trainables.Select(t => ArtifactNames.Grad(t.Name))];
            using var runOptions = new RunOptions();
            using var results = session.Run(runOptions, names, values, outputs);
            var gradients = trainables.Select((t, i) => (t.Name, Values: results[i + 1].GetTensorDataAsSpan<float>().ToArray()))
                .ToDictionary(g => g.Name, g => g.Values, StringComparer.Ordinal);
            return (results[0].GetTensorDataAsSpan<float>()[0], gradients);
        }
        finally
        {
            foreach (var value in values) value.Dispose();
        }
    }
}
