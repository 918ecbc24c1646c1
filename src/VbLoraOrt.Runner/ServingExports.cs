using System.CommandLine;
using VbLoraOrt.GraphBuilder.Serving;
using VbLoraOrt.Runtime.Runs;

namespace VbLoraOrt.Runner;

/// <summary>The serving half of <c>vblora-run export</c>: <c>--serving DIR</c> and <c>--onnx-adapter FILE</c>.</summary>
static class ServingExports
{
    /// <summary><c>--serving-form</c>: how the serving model applies each target's factors (DESIGN.md §7.1.1).</summary>
    public static Option<ServingFormChoice> FormOption() => new("--serving-form")
    {
        DefaultValueFactory = _ => ServingFormChoice.Switch,
        Description = "How the serving model applies the adapter: switch (default: the cheaper of the two forms for each request's token count), activation (x·W + (x·Aᵀ)·Bᵀ) or weight (x·(W + Aᵀ·Bᵀ)).",
    };

    public static void Write(TrainedRun trained, string? servingDir, ServingFormChoice form, string? onnxAdapterPath, bool overwrite, TextWriter output)
    {
        if (servingDir != null)
        {
            var manifest = trained.ExportServing(servingDir, form);
            output.WriteLine($"serving model: {servingDir} ({manifest.Method}, {manifest.Form} form; {manifest.AdapterInputs.Count} adapter inputs, output '{manifest.OutputName}')");
        }
        if (onnxAdapterPath != null)
        {
            long bytes = trained.ExportOnnxAdapter(onnxAdapterPath, overwrite);
            output.WriteLine($"onnx adapter: {onnxAdapterPath} ({bytes:N0} bytes)");
        }
    }
}
