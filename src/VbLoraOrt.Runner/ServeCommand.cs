using System.CommandLine;
using System.Diagnostics;
using VbLoraOrt.Cli;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Serving;
using VbLoraOrt.Runtime.Sessions;

namespace VbLoraOrt.Runner;

/// <summary>
/// <c>vblora-run serve --model DIR --adapters NAME=FILE,…|FOLDER [--input FILE|-] [--output FILE|-]</c>: JSONL requests
/// <c>{"adapter": …, "text": …}</c> answered by one serving model with many adapters (DESIGN.md §7.1).
/// </summary>
static class ServeCommand
{
    public static Command Create(TextWriter output, TextWriter error, CancellationToken cancel)
    {
        var model = new Option<string>("--model") { Description = "Serving folder written by `vblora-run export --serving`.", Required = true };
        var adapters = new Option<string[]>("--adapters") { Description = "Adapters to load once: NAME=FILE.onnx_adapter (comma-separated or repeated) or a folder of .onnx_adapter files.", AllowMultipleArgumentsPerToken = true };
        var input = new Option<string>("--input") { DefaultValueFactory = _ => "-", Description = "JSONL requests {\"adapter\": NAME, \"text\": TEXT[, \"id\": …]}; - reads standard input." };
        var outputPath = new Option<string>("--output") { DefaultValueFactory = _ => "-", Description = "JSONL results, one per request in order; - writes standard output. A file must not exist yet." };
        var maxLength = new Option<int?>("--max-length") { Description = "Tokens per text at most (default: the serving folder's)." };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 16, Description = "Consecutive requests for one adapter run together, up to this many." }.AtLeast(1);
        var device = new Option<string>("--device") { DefaultValueFactory = _ => "cpu", Description = "cpu or cuda." };
        var command = new Command("serve", "Answer JSONL requests, each with its own adapter, from one serving model.")
            { model, adapters, input, outputPath, maxLength, batch, device };
        command.SetAction(r => CommandGuard.Run(RunnerCli.Name, () =>
        {
            var sources = AdapterSources.Parse(r.GetValue(adapters) ?? []);
            var devices = new DeviceOptions { Device = DeviceOptions.ParseDevice(r.GetValue(device)!) };
            string target = r.GetValue(outputPath)!;
            if (target != "-" && File.Exists(target))
                throw new UsageException($"--output {target}: the file exists; give a new file (serve never replaces one).");
            using var session = ServingSession.Open(r.GetValue(model)!, devices, r.GetValue(maxLength));
            LoadAll(session, sources, error);
            var server = new JsonlServer(session, r.GetValue(batch));
            using var reader = r.GetValue(input) is "-" or null ? null : OpenInput(r.GetValue(input)!);
            JsonlServer.Summary summary;
            if (target == "-")
                summary = server.Serve(reader ?? Console.In, output, cancel);
            else
            {
                summary = null!;
                AtomicFile.Write(target, stream =>
                {
                    using var writer = new StreamWriter(stream, leaveOpen: true);
                    summary = server.Serve(reader ?? Console.In, writer, cancel);
                });
            }
            error.WriteLine($"served {summary.Requests} requests ({summary.Errors} errors) in {summary.Batches} runs with {session.Adapters.Count} adapters loaded");
            return ExitCodes.Ok;
        }, error));
        return command;
    }

    static StreamReader OpenInput(string path) => File.Exists(path)
        ? new StreamReader(path)
        : throw new BadInputException($"--input {path}: file not found.");

    // Loads every adapter; one that is refused is reported and left out, the others are served.
    static void LoadAll(ServingSession session, IReadOnlyList<(string Name, string Path)> sources, TextWriter error)
    {
        var clock = Stopwatch.StartNew();
        foreach (var (name, path) in sources)
        {
            try
            {
                session.Load(name, path);
            }
            catch (BadInputException e)
            {
                error.WriteLine($"{RunnerCli.Name}: adapter '{name}' not loaded: {e.Message}");
            }
        }
        error.WriteLine($"loaded {session.Adapters.Count} of {sources.Count} adapters in {clock.Elapsed.TotalMilliseconds:F0} ms");
    }
}
