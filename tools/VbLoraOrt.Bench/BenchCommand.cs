using System.CommandLine;
using VbLoraOrt.Cli;
using VbLoraOrt.Runner.Demo;
using VbLoraOrt.GraphBuilder.Serving;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Bench;

/// <summary>
/// <c>vblora-bench</c>: training-step, throughput, merge, prepare and adapter-size measurements of VB-LoRA on
/// all-MiniLM-L6-v2 (see <see cref="TrainingBenchmark"/>), written to <c>artifacts/bench/training.md</c> and a JSON file (copied into the curated BENCHMARKS.md by hand).
/// It uses the demo's model and SpamAssassin sample. The <c>prepare</c> and <c>train</c> it measures for time
/// and peak memory run as child processes of the product's own programs, built beside this one.
/// </summary>
static class BenchCommand
{
    /// <summary>Program name used in messages.</summary>
    public const string Name = "vblora-bench";

    public static RootCommand Create(TextWriter output, TextWriter error, CancellationToken cancel)
    {
        var iterations = new Option<int>("--iterations") { DefaultValueFactory = _ => 10, Description = "Timed iterations of each measurement." };
        var warmup = new Option<int>("--warmup") { DefaultValueFactory = _ => 2, Description = "Untimed warm-up iterations." };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => 2, Description = "Intra-op threads per session.", Recursive = true };
        var batches = new Option<int>("--throughput-batches") { DefaultValueFactory = _ => 20, Description = "Token throughput at the sequence length trains on a sample of this many batches' worth of examples per padding mode (0: the whole file)." };
        var longBatches = new Option<int>("--long-throughput-batches") { DefaultValueFactory = _ => 12, Description = "The same at length 512, where padding costs more (0: the whole file)." };
        var report = new Option<string>("--report") { DefaultValueFactory = _ => Path.Combine("artifacts", "bench", "training.md"), Description = "Markdown report to write (BENCHMARKS.md is curated by hand from these reports: it also holds notes and other benchmarks a rewrite would lose)." };
        var json = new Option<string>("--json") { DefaultValueFactory = _ => Path.Combine("artifacts", "bench", "bench.json"), Description = "JSON results to write." };
        var work = new Option<string>("--work") { DefaultValueFactory = _ => Path.Combine("artifacts", "bench"), Description = "Scratch folder (artifacts, profiles, merged model); a later run replaces what an earlier one wrote there, other files are kept.", Recursive = true };
        var clock = new Option<LatencyClock>("--clock") { DefaultValueFactory = _ => LatencyClock.Wall, Description = "What the interleaved iterations are timed by: wall (default) or cpu (process CPU time, not stretched by other processes; token throughput stays wall-clock)." };
        var compare = new Option<string?>("--compare-artifacts") { Description = "Mean-pooled artifacts (e.g. prepared by an earlier build) whose step is timed interleaved with ours." };
        var command = new RootCommand("vblora-bench: measure training step vs inference, token throughput, merged latency, prepare time and memory, adapter size.");
        foreach (Option o in new Option[] { iterations, warmup, threads, batches, longBatches, report, json, work, compare, clock })
            command.Options.Add(o);
        command.SetAction(r => CommandGuard.Run(Name, () =>
        {
            var model = DemoModel.Ensure();
            var result = TrainingBenchmark.Run(new BenchmarkOptions
            {
                ModelPath = model.ModelPath,
                VocabPath = model.VocabPath,
                TrainFile = DemoData.TrainFile,
                WorkDirectory = r.GetValue(work)!,
                GraphProgram = Beside("vblora-graph"),
                RunProgram = Beside("vblora-run"),
                Iterations = r.GetValue(iterations),
                WarmupIterations = r.GetValue(warmup),
                Threads = r.GetValue(threads),
                ThroughputBatches = r.GetValue(batches),
                LongThroughputBatches = r.GetValue(longBatches),
                CompareArtifacts = r.GetValue(compare),
                Clock = r.GetValue(clock),
            }, output, cancel);
            string jsonPath = r.GetValue(json)!;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(jsonPath))!);
            BenchmarkReport.Write(result, string.Join(' ', [Name, .. r.Tokens.Select(t => t.Value)]), r.GetValue(report)!, jsonPath);
            output.WriteLine($"wrote {r.GetValue(report)} and {jsonPath}");
            return ExitCodes.Ok;
        }, error));
        command.Subcommands.Add(ServingCommand(output, error, work, threads));
        command.Subcommands.Add(ThreadPoolCommand(output, error, work, threads));
        command.Subcommands.Add(ThreadPoolChildCommand(output, error, threads));
        return command;
    }

    // `vblora-bench thread-pool`: per-session pools vs one shared pool, alternating child processes (ThreadPoolBenchmark).
    static Command ThreadPoolCommand(TextWriter output, TextWriter error, Option<string> work, Option<int> threads)
    {
        var rounds = new Option<int>("--rounds") { DefaultValueFactory = _ => 3, Description = "Rounds; each runs one process per mode." };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 8, Description = "Timed steps per process (after 2 warm-up steps)." };
        var report = new Option<string>("--report") { DefaultValueFactory = _ => Path.Combine("artifacts", "bench", "thread-pool.md"), Description = "Markdown table to write." };
        var command = new Command("thread-pool", "Training step with per-session ONNX Runtime thread pools vs one process-wide pool, in alternating processes.") { rounds, steps, report };
        command.SetAction(r => CommandGuard.Run(Name, () =>
        {
            var model = DemoModel.Ensure();
            string artifacts = Path.Combine(r.GetValue(work)!, "artifacts-mean");
            if (!File.Exists(Path.Combine(artifacts, VbLoraOrt.Contracts.Artifacts.ArtifactNames.Manifest)))
                TrainingBenchmark.Prepare(new BenchmarkOptions
                {
                    ModelPath = model.ModelPath, VocabPath = model.VocabPath, TrainFile = DemoData.TrainFile, WorkDirectory = r.GetValue(work)!,
                    GraphProgram = Beside("vblora-graph"), RunProgram = Beside("vblora-run"),
                }, output, "mean", artifacts);
            string table = ThreadPoolBenchmark.Run(artifacts, Beside("vblora-bench"), r.GetValue(rounds), r.GetValue(steps), r.GetValue(threads), output);
            return WriteTable(table, r.GetValue(report)!, output);
        }, error));
        return command;
    }

    // The child process of `thread-pool`: prints its median step time (ms) as the last line.
    static Command ThreadPoolChildCommand(TextWriter output, TextWriter error, Option<int> threads)
    {
        var artifacts = new Option<string>("--artifacts") { Required = true };
        var pool = new Option<string>("--pool") { Required = true };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 8 };
        var command = new Command(ThreadPoolBenchmark.ChildCommand, "(internal) one process of `thread-pool`.") { artifacts, pool, steps };
        command.Hidden = true;
        command.SetAction(r => CommandGuard.Run(Name, () =>
        {
            string mode = r.GetValue(pool)!;
            if (!ThreadPoolBenchmark.Modes.Contains(mode))
                throw new VbLoraOrt.Onnx.UsageException($"--pool {mode}: use {string.Join(" or ", ThreadPoolBenchmark.Modes)}.");
            double ms = ThreadPoolBenchmark.MeasureHere(r.GetValue(artifacts)!, mode == "shared", r.GetValue(steps), r.GetValue(threads), DemoData.TrainFile);
            output.WriteLine($"{ThreadPoolBenchmark.OsThreads} OS threads");
            output.WriteLine(ms.ToString("F2", System.Globalization.CultureInfo.InvariantCulture));
            return ExitCodes.Ok;
        }, error));
        return command;
    }

    // `vblora-bench serving`: serving model vs merged model, adapter load time, memory and sizes (ServingBenchmark).
    static Command ServingCommand(TextWriter output, TextWriter error, Option<string> work, Option<int> threads)
    {
        var iterations = new Option<int>("--iterations") { DefaultValueFactory = _ => 8, Description = "Interleaved timed pairs at 16×128 per round." };
        var pairs1 = new Option<int>("--pairs-batch1") { DefaultValueFactory = _ => 60, Description = "Interleaved timed pairs at 1×128 per round." };
        var rounds = new Option<int>("--rounds") { DefaultValueFactory = _ => 5, Description = "Rounds of pairs, the batch sizes alternating." };
        var rows = new Option<string[]>("--rows") { Description = "Rows to run: method names, or NAME-shared for a method's shared variant (default all).", AllowMultipleArgumentsPerToken = true };
        var form = new Option<ServingFormChoice>("--serving-form") { DefaultValueFactory = _ => ServingFormChoice.Switch, Description = "How the serving models apply the factors: switch (default), activation or weight." };
        var clock = new Option<LatencyClock>("--clock") { DefaultValueFactory = _ => LatencyClock.Wall, Description = "What a run's time is: wall (default) or cpu (process CPU time: the work done, not stretched by other processes on a shared machine)." };
        var report = new Option<string>("--report") { DefaultValueFactory = _ => Path.Combine("artifacts", "bench", "serving.md"), Description = "Markdown table to write." };
        var serving = new Command("serving", "Serving model with per-request adapters vs merged model, adapter load time, memory per adapter, file sizes.") { iterations, pairs1, rounds, rows, form, clock, report };
        serving.SetAction(r => CommandGuard.Run(Name, () =>
        {
            var model = DemoModel.Ensure();
            var plan = new LatencyPlan(r.GetValue(rounds), r.GetValue(pairs1), r.GetValue(iterations), r.GetValue(clock));
            if (plan.Rounds < 1 || plan.PairsAtBatch1 < 1 || plan.PairsAtBatch16 < 1)
                throw new UsageException("--rounds, --pairs-batch1 and --iterations must be at least 1.");
            string table = ServingBenchmark.Run(model.ModelPath, model.VocabPath, r.GetValue(work)!, plan, r.GetValue(form), r.GetValue(threads),
                (r.GetValue(rows) ?? []).ToHashSet(StringComparer.Ordinal), output);
            return WriteTable(table, r.GetValue(report)!, output);
        }, error));
        return serving;
    }

    // Writes a subcommand's Markdown table to its report file and shows it.
    static int WriteTable(string table, string path, TextWriter output)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        VbLoraOrt.Onnx.AtomicFile.WriteAllText(path, table);
        output.WriteLine(table);
        output.WriteLine($"wrote {path}");
        return ExitCodes.Ok;
    }

    // A product program built beside this one (the project references copy it here), run by the same dotnet host.
    // Also used by tools/VbLoraOrt.TorchReference, which references this project.
    internal static ProgramCommand Beside(string program)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, program + ".dll");
        if (!File.Exists(dll))
            throw new InvalidOperationException($"{dll} was not built beside {AppDomain.CurrentDomain.FriendlyName}; build its project, whose references put it there.");
        string dotnet = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        return new ProgramCommand(dotnet, [dll]);
    }
}
