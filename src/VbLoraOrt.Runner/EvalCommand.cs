using System.CommandLine;
using VbLoraOrt.Adapters.Files;
using VbLoraOrt.Cli;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Runs;
using VbLoraOrt.Runtime.Sessions;

namespace VbLoraOrt.Runner;

/// <summary><c>vblora-run eval --data FILE (--run RUN | --artifacts DIR --adapter FILE | --artifacts DIR --peft DIR | --model MERGED.onnx)</c>.</summary>
static class EvalCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var data = new Option<string>("--data") { Description = "Labelled data file (JSONL, CSV or TSV).", Required = true };
        var run = new Option<string?>("--run") { Description = "Evaluate a run's last checkpoint." };
        var artifacts = new Option<string?>("--artifacts") { Description = "Artifact folder (with --adapter)." };
        var adapter = new Option<string?>("--adapter") { Description = "A stored adapter file, evaluated through the artifacts' eval graph." };
        var peft = new Option<string?>("--peft") { Description = "A PEFT adapter directory (adapter_config.json + adapter_model.safetensors), evaluated through the artifacts' eval graph (with --artifacts)." };
        var model = new Option<string?>("--model") { Description = "A merged model." };
        var vocab = new Option<string?>("--vocab") { Description = "Vocabulary of a merged model (default: the one exported beside it, which the model records)." };
        var maxLength = new Option<int>("--max-length") { Description = "Tokens per example (default: the length the artifacts or merged model were prepared with)." }.AtLeast(0);
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 32, Description = "Examples per batch." }.AtLeast(1);
        var device = new Option<string>("--device") { DefaultValueFactory = _ => "cpu", Description = "cpu or cuda." };
        var command = new Command("eval", "Metrics (loss, accuracy) of a trained adapter or merged model on a data file.")
        {
            data, run, artifacts, adapter, peft, model, vocab, maxLength, batch, device,
        };
        command.SetAction(r => CommandGuard.Run(RunnerCli.Name, () =>
        {
            var devices = new DeviceOptions { Device = DeviceOptions.ParseDevice(r.GetValue(device)!) };
            string file = r.GetValue(data)!;
            EvalResult result;
            if (r.GetValue(model) is { } merged)
                result = ModelEvaluation.WithMergedModel(merged, r.GetValue(vocab), file, r.GetValue(batch), r.GetValue(maxLength), device: devices);
            else if (r.GetValue(run) is { } runDir)
            {
                var trained = TrainedRun.Open(runDir);
                result = ModelEvaluation.WithParameters(trained.Artifacts, trained.Values, trained.Task, file, r.GetValue(batch),
                    r.GetValue(maxLength) > 0 ? r.GetValue(maxLength) : trained.MaxLength, device: devices);
            }
            else if (r.GetValue(adapter) is { } adapterPath)
            {
                var folder = ArtifactFolder.Open(r.GetValue(artifacts) ?? throw new UsageException("--adapter needs --artifacts DIR"));
                var stored = AdapterFile.Load(adapterPath);
                AdapterCompatibility.Require(stored, folder.Manifest, folder.Directory);
                result = ModelEvaluation.WithParameters(folder, stored.Parameters, stored.Task, file, r.GetValue(batch), r.GetValue(maxLength), device: devices);
            }
            else if (r.GetValue(peft) is { } peftDir)
            {
                var folder = ArtifactFolder.Open(r.GetValue(artifacts) ?? throw new UsageException("--peft needs --artifacts DIR"));
                var stored = PeftRuns.LoadForEvaluation(peftDir, folder);
                result = ModelEvaluation.WithParameters(folder, stored.Parameters, stored.Task, file, r.GetValue(batch), r.GetValue(maxLength), device: devices);
            }
            else
                throw new UsageException("give --run RUN, --artifacts DIR --adapter FILE, --artifacts DIR --peft DIR, or --model MERGED.onnx");
            string accuracy = result.Accuracy is double a ? $", accuracy {a:P2}" : "";
            output.WriteLine($"{file}: {result.Count} examples, loss {result.Loss:F4}{accuracy}");
            return ExitCodes.Ok;
        }, error));
        return command;
    }
}
