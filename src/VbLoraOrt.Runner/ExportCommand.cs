using System.CommandLine;
using VbLoraOrt.Cli;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Runs;

namespace VbLoraOrt.Runner;

/// <summary><c>vblora-run export --run RUN --adapter OUT.safetensors | --merged OUT.onnx</c>.</summary>
static class ExportCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var run = new Option<string>("--run") { Description = "Run folder written by `vblora-run train` (its last checkpoint is exported).", Required = true };
        var adapter = new Option<string?>("--adapter") { Description = "Write the adapter in its stored form (safetensors, PEFT key names)." };
        var merged = new Option<string?>("--merged") { Description = "Write the base model with the adapter folded into its weights, plus the head." };
        var taskOnly = new Option<bool>("--task-output-only") { Description = "Merged model: keep only the task output and compute only what it reads (with CLS pooling the last layer runs at the first token only: faster than the base)." };
        var peft = new PeftExportCliOptions();
        var command = new Command("export", "Export a trained adapter (KBs, per user), a PEFT adapter directory, or a merged model (zero inference overhead).") { run, adapter, merged, taskOnly };
        peft.AddTo(command);
        command.SetAction(r => CommandGuard.Run(RunnerCli.Name, () =>
        {
            string? adapterPath = r.GetValue(adapter), mergedPath = r.GetValue(merged);
            if (adapterPath == null && mergedPath == null && !peft.Given(r))
                throw new UsageException("give --adapter OUT.safetensors, --peft DIR, --merged OUT.onnx, or several");
            var trained = TrainedRun.Open(r.GetValue(run)!);
            if (adapterPath != null)
            {
                var summary = trained.ExportAdapter(adapterPath);
                output.WriteLine($"adapter: {summary.Path} ({summary.FileBytes:N0} bytes; {summary.StoredParameterCount:F0} stored adapter parameters + {summary.HeadParameterCount} head)");
            }
            peft.Run(r, trained, output);
            if (mergedPath != null)
            {
                trained.ExportMerged(mergedPath, r.GetValue(taskOnly));
                output.WriteLine($"merged model: {mergedPath}");
            }
            return ExitCodes.Ok;
        }, error));
        return command;
    }
}
