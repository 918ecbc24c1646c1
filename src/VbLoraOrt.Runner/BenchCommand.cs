using System.CommandLine;
using VbLoraOrt.GraphBuilder.CommandLine;
using VbLoraOrt.ModelStore;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Benchmarks;

namespace VbLoraOrt.Runner;

/// <summary>
/// <c>vblora-run bench</c>: training-step, throughput, merge, prepare and adapter-size measurements of VB-LoRA on
/// all-MiniLM-L6-v2 (see <see cref="TrainingBenchmark"/>), written to <c>BENCHMARKS.md</c> and a JSON file.
/// Run it from the repository (it uses the SpamAssassin sample and the built <c>vblora-graph</c>).
/// </summary>
static class BenchCommand
{
    public static Command Create(TextWriter output, TextWriter error, CancellationToken cancel)
    {
        var iterations = new Option<int>("--iterations") { DefaultValueFactory = _ => 10, Description = "Timed iterations of each measurement." };
        var warmup = new Option<int>("--warmup") { DefaultValueFactory = _ => 2, Description = "Untimed warm-up iterations." };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => 2, Description = "Intra-op threads per session." };
        var batches = new Option<int>("--throughput-batches") { DefaultValueFactory = _ => 20, Description = "Token throughput at the sequence length trains on a sample of this many batches' worth of examples per padding mode (0: the whole file)." };
        var longBatches = new Option<int>("--long-throughput-batches") { DefaultValueFactory = _ => 12, Description = "The same at length 512, where padding costs more (0: the whole file)." };
        var report = new Option<string>("--report") { DefaultValueFactory = _ => "BENCHMARKS.md", Description = "Markdown report to write." };
        var json = new Option<string>("--json") { DefaultValueFactory = _ => Path.Combine("artifacts", "bench", "bench.json"), Description = "JSON results to write." };
        var work = new Option<string>("--work") { DefaultValueFactory = _ => Path.Combine("artifacts", "bench"), Description = "Scratch folder (artifacts, profiles, merged model)." };
        var command = new Command("bench", "Measure training step vs inference, token throughput, merged latency, prepare time and memory, adapter size.");
        foreach (Option o in new Option[] { iterations, warmup, threads, batches, longBatches, report, json, work })
            command.Options.Add(o);
        command.SetAction(r => CommandGuard.Run(RunnerCli.Name, () =>
        {
            string repository = RepositoryRoot();
            var model = MiniLmStore.Ensure();
            var result = TrainingBenchmark.Run(new BenchmarkOptions
            {
                ModelPath = model.ModelPath,
                VocabPath = model.VocabPath,
                TrainFile = Path.Combine(repository, "tools", "data", "spamassassin", "train.jsonl"),
                WorkDirectory = r.GetValue(work)!,
                GraphProgram = GraphProgram(repository, output),
                RunProgram = Self(),
                Iterations = r.GetValue(iterations),
                WarmupIterations = r.GetValue(warmup),
                Threads = r.GetValue(threads),
                ThroughputBatches = r.GetValue(batches),
                LongThroughputBatches = r.GetValue(longBatches),
            }, output, cancel);
            string jsonPath = r.GetValue(json)!;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(jsonPath))!);
            BenchmarkReport.Write(result, "vblora-run " + string.Join(' ', r.Tokens.Select(t => t.Value)), r.GetValue(report)!, jsonPath);
            output.WriteLine($"wrote {r.GetValue(report)} and {jsonPath}");
            return ExitCodes.Ok;
        }, error));
        return command;
    }

    // This program again, as apphost or as `dotnet vblora-run.dll`.
    static ProgramCommand Self()
    {
        string host = Environment.ProcessPath ?? throw new InvalidOperationException("the path of this program is unknown.");
        return Path.GetFileNameWithoutExtension(host) == "dotnet"
            ? new ProgramCommand(host, [typeof(BenchCommand).Assembly.Location])
            : new ProgramCommand(host, []);
    }

    // vblora-graph of the same configuration as this program, built once if it is not there yet.
    static ProgramCommand GraphProgram(string repository, TextWriter output)
    {
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        string project = Path.Combine(repository, "graph-builder", "VbLoraOrt.GraphBuilder.Cli");
        string dll = Path.Combine(project, "bin", configuration, "net10.0", "vblora-graph.dll");
        string dotnet = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        if (!File.Exists(dll))
        {
            output.WriteLine($"building vblora-graph ({configuration}) for the prepare measurement …");
            ChildProcessMeter.Run(dotnet, ["build", project, "-c", configuration, "-v", "q"]);
        }
        return new ProgramCommand(dotnet, [dll]);
    }

    static string RepositoryRoot() => RepositoryFolders.SpamAssassinSample != null
        ? RepositoryFolders.Root!
        : throw new BadInputException("the repository (tools/data/spamassassin) was not found above this program; run bench from a build of the repository.");
}
