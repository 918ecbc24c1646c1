using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using VbLoraOrt.Adapters.Discovery;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Cli;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.GraphBuilder.Cli;

/// <summary><c>vblora-graph inspect --model M [--targets …] [--json]</c>: lists the model's linear modules.</summary>
static class InspectCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var model = new Option<string>("--model") { Description = "Exported ONNX model.", Required = true };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var targets = new TargetOptions();
        var command = new Command("inspect", "List every linear layer (MatMul/Gemm with a constant 2-D weight) with its module path.");
        command.Options.Add(model);
        command.Options.Add(json);
        targets.AddTo(command);
        command.SetAction(result => CommandGuard.Run(GraphCli.Name, () =>
            Run(result.GetValue(model)!, targets.Read(result), result.GetValue(json), output), error));
        return command;
    }

    internal static int Run(string modelPath, TargetSpec? spec, bool json, TextWriter output)
    {
        var modules = LinearModuleFinder.Find(OnnxModel.Load(modelPath));
        var shown = spec == null ? modules : TargetSelector.Select(modules, spec);
        if (json)
            output.WriteLine(JsonSerializer.Serialize(new { model = modelPath, count = shown.Count, modules = shown }, JsonOptions));
        else
            WriteTable(modelPath, modules.Count, shown, spec, output);
        return ExitCodes.Ok;
    }

    static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    static void WriteTable(string modelPath, int total, IReadOnlyList<LinearModule> shown, TargetSpec? spec, TextWriter output)
    {
        output.WriteLine(spec == null
            ? $"{modelPath}: {total} linear modules"
            : $"{modelPath}: {shown.Count} of {total} linear modules match targets '{spec}'");
        string[] header = ["module path", "op", "in", "out", "weight", "bias", "node"];
        var rows = shown.Select(m => new[]
        {
            m.PathInferred ? $"{m.Path} *" : m.Path,
            m.Layout == WeightLayout.OutIn ? $"{m.OpType} (W^T)" : m.OpType,
            m.InFeatures.ToString(System.Globalization.CultureInfo.InvariantCulture),
            m.OutFeatures.ToString(System.Globalization.CultureInfo.InvariantCulture),
            m.WeightName, m.BiasName ?? "-", m.NodeName,
        }).ToList();
        int[] widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        output.WriteLine(string.Join("  ", header.Select((h, i) => h.PadRight(widths[i]))).TrimEnd());
        foreach (var row in rows)
            output.WriteLine(string.Join("  ", row.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
        if (shown.Any(m => m.PathInferred))
            output.WriteLine("* path inferred: the export has no scope names; recovered from the bias initializer the following Add reads (or the node name).");
    }
}
