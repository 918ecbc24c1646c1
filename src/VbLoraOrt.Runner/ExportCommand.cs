using System.CommandLine;
using VbLoraOrt.Cli;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Runs;

namespace VbLoraOrt.Runner;

/// <summary><c>vblora-run export --run RUN | --ort-checkpoint FILE --artifacts DIR, then --adapter OUT.safetensors | --merged OUT.onnx</c>.</summary>
static class ExportCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var run = new Option<string?>("--run") { Description = "Run folder written by `vblora-run train` (its last checkpoint is exported)." };
        var ortCheckpoint = new Option<string?>("--ort-checkpoint") { Description = "Export an ONNX Runtime training checkpoint instead of a run (with --artifacts)." };
        var fromPeft = new Option<string?>("--from-peft") { Description = "Export a PEFT adapter directory instead of a run (with --artifacts whose method, options, targets and task it fits)." };
        var artifacts = new Option<string?>("--artifacts") { Description = "With --ort-checkpoint: the artifact folder the checkpoint was trained from; with --from-peft: the artifacts to apply the directory to." };
        var adapter = new Option<string?>("--adapter") { Description = "Write the adapter in its stored form (safetensors, PEFT key names)." };
        var merged = new Option<string?>("--merged") { Description = "Write the base model with the adapter folded into its weights, plus the head." };
        var taskOnly = new Option<bool>("--task-output-only") { Description = "Merged model: keep only the task output and compute only what it reads (with CLS pooling the last layer runs at the first token only: faster than the base)." };
        var serving = new Option<string?>("--serving") { Description = "Write a serving folder: the base model taking any adapter of these artifacts per request (`vblora-run serve`)." };
        var servingForm = ServingExports.FormOption();
        var onnxAdapter = new Option<string?>("--onnx-adapter") { Description = "Write the adapter with its head as ONNX Runtime's .onnx_adapter, for the serving model." };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace files this command would write that already exist: the --adapter, --merged and --onnx-adapter files, and adapter_config.json and adapter_model.safetensors in a non-empty --peft directory." };
        var peft = new PeftExportCliOptions();
        var command = new Command("export", "Export a trained adapter (KBs, per user), a PEFT adapter directory, a serving folder, or a merged model (zero inference overhead).") { run, ortCheckpoint, fromPeft, artifacts, adapter, merged, taskOnly, serving, servingForm, onnxAdapter, overwrite };
        peft.AddTo(command);
        command.SetAction(r => CommandGuard.Run(RunnerCli.Name, () =>
        {
            string? adapterPath = r.GetValue(adapter), mergedPath = r.GetValue(merged);
            string? servingDir = r.GetValue(serving), onnxAdapterPath = r.GetValue(onnxAdapter);
            if (adapterPath == null && mergedPath == null && servingDir == null && onnxAdapterPath == null && !peft.Given(r))
                throw new UsageException("give --adapter OUT.safetensors, --peft DIR, --merged OUT.onnx, --serving DIR or --onnx-adapter OUT.onnx_adapter (any of them)");
            if (servingDir == null && r.GetResult(servingForm) is { Implicit: false })
                throw new UsageException("--serving-form chooses how the serving folder applies the adapter; give --serving DIR with it.");
            var trained = ExportSource.Open(r.GetValue(run), r.GetValue(ortCheckpoint), r.GetValue(artifacts), r.GetValue(fromPeft));
            if (adapterPath != null)
            {
                var summary = trained.ExportAdapter(adapterPath, r.GetValue(overwrite));
                output.WriteLine($"adapter: {summary.Path} ({summary.FileBytes:N0} bytes; {summary.StoredParameterCount:F0} stored adapter parameters + {summary.HeadParameterCount} head)");
            }
            peft.Run(r, trained, r.GetValue(overwrite), output);
            if (mergedPath != null)
            {
                trained.ExportMerged(mergedPath, r.GetValue(taskOnly), r.GetValue(overwrite));
                output.WriteLine($"merged model: {mergedPath}");
            }
            ServingExports.Write(trained, servingDir, r.GetValue(servingForm), onnxAdapterPath, r.GetValue(overwrite), output);
            return ExitCodes.Ok;
        }, error));
        return command;
    }
}
