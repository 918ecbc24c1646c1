using System.CommandLine;
using VbLoraOrt.Cli;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Merge;

namespace VbLoraOrt.GraphBuilder.Cli;

/// <summary><c>vblora-graph merge --model M --peft DIR --out merged.onnx</c>: folds a PEFT adapter directory into an ONNX export.</summary>
static class MergeCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var model = new Option<string>("--model") { Description = "Exported ONNX model whose module paths the adapter's match.", Required = true };
        var peft = new Option<string>("--peft") { Description = "PEFT adapter directory (adapter_config.json + adapter_model.safetensors).", Required = true };
        var outPath = new Option<string>("--out") { Description = "Merged model to write.", Required = true };
        var pooling = new Option<Pooling?>("--pooling") { Description = "How a classifier head kept in modules_to_save reads the token states: cls (default) or mean." };
        var hiddenOutput = new Option<string>("--hidden-output") { Description = "Token-state output the head reads.", DefaultValueFactory = _ => "last_hidden_state" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace a model already at --out (else it is refused)." };
        var command = new Command("merge", "Merge a PEFT adapter directory (LoRA, VB-LoRA, Uni-LoRA, VeRA) into an ONNX export.") { model, peft, outPath, pooling, hiddenOutput, overwrite };
        command.SetAction(result => CommandGuard.Run(GraphCli.Name, () =>
        {
            var adapter = PeftMerge.Run(result.GetValue(model)!, result.GetValue(peft)!, result.GetValue(outPath)!,
                new PeftHeadOptions(result.GetValue(pooling) ?? Pooling.Cls, result.GetValue(hiddenOutput)!), result.GetValue(overwrite));
            string prefix = adapter.ModulePrefix.Length > 0 ? $" (PEFT module prefix '{adapter.ModulePrefix}')" : "";
            string head = adapter.Head is { } h ? $"; head '{h.Module}' {h.Hidden}→{h.Labels}" : "; no head";
            output.WriteLine($"merged {adapter.Config.PeftType} ({adapter.Plan.Targets.Count} targets{prefix}{head}) into {result.GetValue(outPath)}");
            return ExitCodes.Ok;
        }, error));
        return command;
    }
}
