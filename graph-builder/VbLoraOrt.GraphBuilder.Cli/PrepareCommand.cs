using System.CommandLine;
using VbLoraOrt.Adapters;
using VbLoraOrt.Cli;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Artifacts;
using VbLoraOrt.GraphBuilder.Tasks;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.GraphBuilder.Cli;

/// <summary>
/// <c>vblora-graph prepare --model M --method vblora --targets query,value … --task classify --num-labels N --out DIR</c>.
/// </summary>
static class PrepareCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var model = new Option<string>("--model") { Description = "Exported ONNX model.", Required = true };
        var methods = new MethodOptionSet();
        var seed = new Option<long>("--seed") { Description = "Seed of the initial values (adapter and head).", DefaultValueFactory = _ => 42 };
        var task = new Option<TaskKind>("--task") { Description = "classify or embed.", DefaultValueFactory = _ => TaskKind.Classify };
        var labels = new Option<int>("--num-labels") { Description = "Classes (1 = regression with MSE).", DefaultValueFactory = _ => 2 };
        var pooling = new Option<Pooling?>("--pooling") { Description = "cls or mean (classify; default cls). Embed always pools the mean." };
        var vocab = new Option<string?>("--vocab") { Description = "WordPiece vocab.txt copied into the artifacts for the runner." };
        var maxLength = new Option<int>("--max-length") { Description = "Maximum sequence length the runner trains and evaluates with (at most the model's positions).", DefaultValueFactory = _ => 128 };
        var lowerCase = new Option<bool?>("--lowercase") { Description = "true or false: lower-case text before WordPiece (default: follow the vocabulary, cased when it has upper-case tokens)." };
        var hiddenOutput = new Option<string>("--hidden-output") { Description = "Token-state output the head reads.", DefaultValueFactory = _ => "last_hidden_state" };
        var noPruning = new Option<bool>("--no-position-pruning") { Description = "Compute every position even where the task reads one (CLS pooling); for comparisons." };
        var outDir = new Option<string>("--out") { Description = "Artifact folder to create (or an empty one).", Required = true };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace the artifacts of an earlier prepare in --out (other files there are kept)." };
        var targets = new TargetOptions();
        var formats = new ArtifactFormatOptions();

        var command = new Command("prepare", "Inject the adapter, add the task head and loss, differentiate, and write training artifacts.");
        command.Options.Add(model);
        methods.AddTo(command);
        foreach (var o in new Option[] { seed, task, labels, pooling, vocab, lowerCase, maxLength, hiddenOutput, noPruning, outDir, overwrite })
            command.Options.Add(o);
        targets.AddTo(command);
        formats.AddTo(command);
        command.SetAction(result => CommandGuard.Run(GraphCli.Name, () =>
        {
            var spec = targets.Read(result) ?? throw new UsageException("--targets or --target-regex is required (e.g. --targets query,value)");
            IAdapterMethod adapter = methods.Create(result, result.GetValue(seed));
            if (result.GetValue(task) == TaskKind.Embed && result.GetValue(pooling) == Pooling.Cls)
                throw new UsageException("--task embed trains mean-pooled embeddings; --pooling cls does not apply (leave it out).");
            var manifest = ArtifactBuilder.Prepare(new PrepareOptions
            {
                ModelPath = result.GetValue(model)!,
                OutputDirectory = result.GetValue(outDir)!,
                Overwrite = result.GetValue(overwrite),
                Method = adapter,
                Targets = spec,
                Task = new TaskOptions { Kind = result.GetValue(task), NumLabels = result.GetValue(labels), Pooling = result.GetValue(pooling) ?? Pooling.Cls },
                VocabPath = result.GetValue(vocab),
                MaxLength = result.GetValue(maxLength),
                LowerCase = result.GetValue(lowerCase),
                Seed = result.GetValue(seed),
                HiddenStatesOutput = result.GetValue(hiddenOutput)!,
                PrunePositions = !result.GetValue(noPruning),
                OrtTraining = formats.Read(result),
            }, output);
            output.WriteLine($"wrote {result.GetValue(outDir)}: {manifest.Targets.Count} targets, {manifest.Counts.AdapterTrainable} adapter + {manifest.Counts.Head} head trainable parameters, {manifest.Counts.AdapterStored:F0} stored");
            return ExitCodes.Ok;
        }, error));
        return command;
    }
}
