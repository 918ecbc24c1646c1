using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Adapters.Peft;
using System.CommandLine;
using VbLoraOrt.Adapters.Interchange;
using VbLoraOrt.Runtime.Runs;

namespace VbLoraOrt.Runner;

/// <summary><c>export --peft DIR</c> and its options: the run's adapter as PEFT's <c>save_pretrained</c> lays it out.</summary>
sealed class PeftExportCliOptions
{
    readonly Option<string?> _directory = new("--peft") { Description = "Write a PEFT adapter directory (adapter_config.json + adapter_model.safetensors, as PEFT's save_pretrained)." };
    readonly Option<bool> _topKOnly = new("--peft-topk-only") { Description = "VB-LoRA: save only the top-k indices and weights (PEFT's save_only_topk_weights); inference only." };
    readonly Option<bool> _noProjection = new("--peft-no-projection") { Description = "VeRA: leave the shared projections out (save_projection false); PEFT regenerates them from the seed." };
    readonly Option<string> _prefix = new("--peft-module-prefix") { Description = "Prepended to module paths, e.g. 'bert.' for BertForSequenceClassification.", DefaultValueFactory = _ => "" };
    readonly Option<string?> _baseModel = new("--peft-base-model") { Description = "base_model_name_or_path to record, e.g. sentence-transformers/all-MiniLM-L6-v2." };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _directory, _topKOnly, _noProjection, _prefix, _baseModel })
            command.Options.Add(option);
    }

    public bool Given(ParseResult result) => result.GetValue(_directory) != null;

    public void Run(ParseResult result, TrainedRun trained, bool overwrite, TextWriter output)
    {
        if (result.GetValue(_directory) is not { } directory)
            return;
        var content = PeftRunExport.Content(trained.Artifacts.Manifest, trained.Values, result.GetValue(_baseModel), result.GetValue(_prefix)!);
        var options = new PeftExportOptions { TopKOnly = result.GetValue(_topKOnly), SaveProjection = !result.GetValue(_noProjection) };
        PeftExporter.Write(directory, content, options, overwrite);
        output.WriteLine($"PEFT adapter: {directory} ({AdapterMethods.PeftFormOf(content.Method.Name).PeftType}, {content.Plan.Targets.Count} targets)");
    }
}
