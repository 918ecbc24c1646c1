using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
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
        var benchmark = new Option<int?>("--benchmark") { Description = "Instead of answering: send this many requests, one text each, round-robin over the loaded adapters (texts from --input, or a built-in one), and write throughput and latency as one JSON line." };
        var command = new Command("serve", "Answer JSONL requests, each with its own adapter, from one serving model.")
            { model, adapters, input, outputPath, maxLength, batch, device, benchmark };
        command.SetAction(r => CommandGuard.Run(RunnerCli.Name, () =>
        {
            if (r.GetValue(benchmark) != null && r.GetResult(batch) is { Implicit: false })
                throw new UsageException("--batch-size does not apply to --benchmark, whose requests each run alone; give one of them.");
            var sources = AdapterSources.Parse(r.GetValue(adapters) ?? []);
            var devices = new DeviceOptions { Device = DeviceOptions.ParseDevice(r.GetValue(device)!) };
            string target = r.GetValue(outputPath)!;
            if (target != "-" && File.Exists(target))
                throw new UsageException($"--output {target}: the file exists; give a new file (serve never replaces one).");
            using var session = ServingSession.Open(r.GetValue(model)!, devices, r.GetValue(maxLength));
            LoadAll(session, sources, error);
            using var reader = r.GetValue(input) is "-" or null ? null : OpenInput(r.GetValue(input)!);
            if (r.GetValue(benchmark) is int requests)
                return Benchmark(session, reader, requests, target, output, error, cancel);
            var server = new JsonlServer(session, r.GetValue(batch));
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

    // serve --benchmark: the round-robin run, its result one JSON line where results would go.
    static int Benchmark(ServingSession session, StreamReader? input, int requests, string target, TextWriter output, TextWriter error, CancellationToken cancel)
    {
        var texts = input == null ? [BenchmarkText] : RoundRobinBenchmark.Texts(input);
        var result = RoundRobinBenchmark.Run(session, texts, requests, cancel);
        string json = JsonSerializer.Serialize(result, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase });
        if (target == "-")
            output.WriteLine(json);
        else
            AtomicFile.WriteAllText(target, json + Environment.NewLine);
        error.WriteLine(FormattableString.Invariant(
            $"benchmark: {result.Requests} requests round-robin over {result.Adapters} adapters in {result.Seconds:F2} s: {result.RequestsPerSecond:F1} requests/s, latency median {result.LatencyMsMedian:F2} ms, p95 {result.LatencyMsP95:F2} ms"));
        return ExitCodes.Ok;
    }

    const string BenchmarkText = "Serving many users from one base model: one adapter per request, chosen at run time.";

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
