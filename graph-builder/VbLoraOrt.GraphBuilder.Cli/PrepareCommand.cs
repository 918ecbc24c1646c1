using System.CommandLine;
using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Methods.Lora;
using VbLoraOrt.Adapters.Methods.UniLora;
using VbLoraOrt.Adapters.Methods.VbLora;
using VbLoraOrt.Cli;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Artifacts;
using VbLoraOrt.GraphBuilder.Tasks;

namespace VbLoraOrt.GraphBuilder.Cli;

/// <summary>
/// <c>vblora-graph prepare --model M --method vblora --targets query,value … --task classify --num-labels N --out DIR</c>.
/// </summary>
static class PrepareCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var model = new Option<string>("--model") { Description = "Exported ONNX model.", Required = true };
        var method = new Option<string>("--method") { Description = "Adapter method: vblora; unilora (one trainable vector θ, fixed isometric projection); or lora (the reference: trainable A and B per target).", DefaultValueFactory = _ => "vblora" };
        method.AcceptOnlyFromAmong([.. AdapterMethods.Names]);
        var vectors = new Option<int>("--num-vectors") { Description = "h: vectors in the shared bank.", DefaultValueFactory = _ => 256 };
        var length = new Option<int>("--vector-length") { Description = "b: length of a bank vector; must divide every target's in and out features.", DefaultValueFactory = _ => 128 };
        var rank = new Option<int>("--rank") { Description = "r: rank of each A/B pair.", DefaultValueFactory = _ => 4 };
        var thetaLength = new Option<int>("--theta-length") { Description = "unilora: d, the length of the one trainable vector θ.", DefaultValueFactory = _ => 4096 };
        var projectionSeed = new Option<long>("--projection-seed") { Description = "unilora: seed of the fixed projection (numpy default_rng, as PEFT).", DefaultValueFactory = _ => 42 };
        var alpha = new Option<double?>("--lora-alpha") { Description = "lora: α; the update is scaled by α/r (default: α = r, scale 1)." };
        var topk = new Option<int>("--topk") { Description = "k: bank vectors mixed per sub-vector.", DefaultValueFactory = _ => 2 };
        var seed = new Option<long>("--seed") { Description = "Seed of the initial values.", DefaultValueFactory = _ => 42 };
        var logitsStd = new Option<double>("--init-logits-std") { Description = "Std of the logits' normal init (PEFT 0.1; the paper's code 0.01).", DefaultValueFactory = _ => 0.1 };
        var task = new Option<TaskKind>("--task") { Description = "classify or embed.", DefaultValueFactory = _ => TaskKind.Classify };
        var labels = new Option<int>("--num-labels") { Description = "Classes (1 = regression with MSE).", DefaultValueFactory = _ => 2 };
        var pooling = new Option<Pooling>("--pooling") { Description = "cls or mean (classify).", DefaultValueFactory = _ => Pooling.Cls };
        var vocab = new Option<string?>("--vocab") { Description = "WordPiece vocab.txt copied into the artifacts for the runner." };
        var maxLength = new Option<int>("--max-length") { Description = "Default maximum sequence length for the runner.", DefaultValueFactory = _ => 128 };
        var hiddenOutput = new Option<string>("--hidden-output") { Description = "Token-state output the head reads.", DefaultValueFactory = _ => "last_hidden_state" };
        var noPruning = new Option<bool>("--no-position-pruning") { Description = "Compute every position even where the task reads one (CLS pooling); for comparisons." };
        var outDir = new Option<string>("--out") { Description = "Artifact folder.", Required = true };
        var targets = new TargetOptions();

        var command = new Command("prepare", "Inject the adapter, add the task head and loss, differentiate, and write training artifacts.");
        foreach (var o in new Option[] { model, method, vectors, length, rank, alpha, thetaLength, projectionSeed, topk, seed, logitsStd, task, labels, pooling, vocab, maxLength, hiddenOutput, noPruning, outDir })
            command.Options.Add(o);
        targets.AddTo(command);
        command.SetAction(result => CommandGuard.Run(GraphCli.Name, () =>
        {
            var spec = targets.Read(result) ?? throw new ArgumentException("--targets or --target-regex is required (e.g. --targets query,value)");
            IAdapterMethod adapter = result.GetValue(method) switch
            {
                "lora" => new LoraMethod(new LoraOptions
                {
                    Rank = result.GetValue(rank),
                    Alpha = result.GetValue(alpha) ?? result.GetValue(rank),
                    Seed = result.GetValue(seed),
                }),
                "unilora" => new UniLoraMethod(new UniLoraOptions
                {
                    ThetaLength = result.GetValue(thetaLength),
                    Rank = result.GetValue(rank),
                    ProjectionSeed = result.GetValue(projectionSeed),
                    Seed = result.GetValue(seed),
                }),
                _ => new VbLoraMethod(new VbLoraOptions
                {
                    NumVectors = result.GetValue(vectors),
                    VectorLength = result.GetValue(length),
                    Rank = result.GetValue(rank),
                    TopK = result.GetValue(topk),
                    Seed = result.GetValue(seed),
                    InitLogitsStd = result.GetValue(logitsStd),
                }),
            };
            var manifest = ArtifactBuilder.Prepare(new PrepareOptions
            {
                ModelPath = result.GetValue(model)!,
                OutputDirectory = result.GetValue(outDir)!,
                Method = adapter,
                Targets = spec,
                Task = new TaskOptions { Kind = result.GetValue(task), NumLabels = result.GetValue(labels), Pooling = result.GetValue(pooling) },
                VocabPath = result.GetValue(vocab),
                MaxLength = result.GetValue(maxLength),
                Seed = result.GetValue(seed),
                HiddenStatesOutput = result.GetValue(hiddenOutput)!,
                PrunePositions = !result.GetValue(noPruning),
            }, output);
            output.WriteLine($"wrote {result.GetValue(outDir)}: {manifest.Targets.Count} targets, {manifest.Counts.AdapterTrainable} adapter + {manifest.Counts.Head} head trainable parameters, {manifest.Counts.AdapterStored:F0} stored");
            return ExitCodes.Ok;
        }, error));
        return command;
    }
}
