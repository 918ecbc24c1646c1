using VbLoraOrt.Runtime.Runs;

namespace VbLoraOrt.Runner;

/// <summary>The serving half of <c>vblora-run export</c>: <c>--serving DIR</c> and <c>--onnx-adapter FILE</c>.</summary>
static class ServingExports
{
    public static void Write(TrainedRun trained, string? servingDir, string? onnxAdapterPath, bool overwrite, TextWriter output)
    {
        if (servingDir != null)
        {
            var manifest = trained.ExportServing(servingDir);
            output.WriteLine($"serving model: {servingDir} ({manifest.Method}; {manifest.AdapterInputs.Count} adapter inputs, output '{manifest.OutputName}')");
        }
        if (onnxAdapterPath != null)
        {
            long bytes = trained.ExportOnnxAdapter(onnxAdapterPath, overwrite);
            output.WriteLine($"onnx adapter: {onnxAdapterPath} ({bytes:N0} bytes)");
        }
    }
}
