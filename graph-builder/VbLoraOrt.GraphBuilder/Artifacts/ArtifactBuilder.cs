using System.Diagnostics;
using Onnx;
using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Discovery;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.Differentiation;
using VbLoraOrt.Differentiation.Pruning;
using VbLoraOrt.Differentiation.Rewrites;
using VbLoraOrt.Differentiation.Shapes;
using VbLoraOrt.GraphBuilder.Artifacts.Optimizer;
using VbLoraOrt.GraphBuilder.OrtTraining;
using VbLoraOrt.GraphBuilder.Tasks;
using VbLoraOrt.GraphBuilder.Text;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.GraphBuilder.Artifacts;

/// <summary>
/// <c>vblora-graph prepare</c>: turns an exported model into a training artifact folder in a few named steps —
/// store the base once (its weights become the folder's one shared <c>weights.bin</c>), build the training graph
/// (adapter + head + loss + backward), the eval graph, the optimizer graph, the initial checkpoint and the manifest.
/// </summary>
public static class ArtifactBuilder
{
    /// <summary>
    /// Builds every artifact in a staging folder beside <see cref="PrepareOptions.OutputDirectory"/> and swaps them in
    /// when all are written (DESIGN.md §8): a prepare that fails leaves the output folder as it was. A folder holding
    /// files is refused unless <see cref="PrepareOptions.Overwrite"/>, which replaces only an earlier prepare's files.
    /// Returns the manifest written.
    /// </summary>
    /// <exception cref="UsageException">The output folder holds files and overwriting was not asked for, or a file
    /// there that an earlier prepare did not write has the name of an artifact.</exception>
    public static ArtifactManifest Prepare(PrepareOptions options, TextWriter? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Task.Validate();
        using var staged = StagedDirectory.Begin(options.OutputDirectory, options.Overwrite, EarlierArtifacts,
            inputs: [options.ModelPath, .. options.VocabPath is { } vocab ? [vocab] : Array.Empty<string>()]);
        var manifest = PrepareInto(options, staged.Path, log);
        staged.Commit(last: ArtifactNames.Manifest);
        return manifest;
    }

    // The files an earlier prepare wrote into a folder, as its manifest lists them (an unreadable manifest gives none:
    // then only the manifest itself may be replaced, and any other artifact name already there is refused).
    static IReadOnlyCollection<string> EarlierArtifacts(string folder)
    {
        string path = Path.Combine(folder, ArtifactNames.Manifest);
        if (!File.Exists(path))
            return [];
        try
        {
            // a file one folder down (ort/…) makes that folder an entry of the earlier output as a whole
            var files = ArtifactManifest.Load(path).Files?.Keys ?? [];
            return [ArtifactNames.Manifest, .. files.Select(f => f.Split('/')[0]).Distinct(StringComparer.Ordinal)];
        }
        catch (BadInputException)
        {
            return [];
        }
    }

    static ArtifactManifest PrepareInto(PrepareOptions target, string directory, TextWriter? log)
    {
        var options = target with { OutputDirectory = directory };
        var clock = Stopwatch.StartNew();
        void Log(string step) => log?.WriteLine($"[{clock.Elapsed.TotalSeconds,6:F1}s] {step}");

        string sha = Hashing.Sha256File(options.ModelPath);
        OnnxModel stored = StoreBase(options);
        Log($"stored base model ({Path.GetFileName(options.ModelPath)}, sha256 {sha[..12]}…)");

        var tokenizer = CheckTokenizer(options, stored);
        var modules = LinearModuleFinder.Find(stored);
        var targets = TargetSelector.Select(modules, options.Targets);
        int hidden = HiddenSize(stored, options.HiddenStatesOutput);
        var dataInputs = DataInputs(stored);
        Log($"{targets.Count} of {modules.Count} linear modules selected; hidden size {hidden}");

        var training = BuildTrainingModel(stored, options, targets, hidden, dataInputs);
        SaveShared(training.Model, Path.Combine(options.OutputDirectory, ArtifactNames.TrainingModel));
        if (training.Pruning is { Changed: true } p)
            Log($"position pruning: {p.RowNodes} nodes computed at the pooled position only ({p.Slices} slices, {p.RemovedNodes} nodes removed)");
        if (training.Rewrite is { } r)
            Log((r.NotApplied ?? $"standard ops: {r.LayerNormalizations} LayerNorm subgraphs as LayerNormalization (opset {r.Opset})") +
                $"; {r.PrescaledGelus} GELUs with 1/√2 in the weights; {r.SplitKeyTransposes} key transposes split");
        Log($"training model: {training.Model.Graph.Node.Count} nodes ({training.BackwardNodes} backward)");

        var headOnly = BuildHeadOnlyTrainingModel(stored, options, targets, hidden, dataInputs);
        if (headOnly != null)
        {
            SaveShared(headOnly, Path.Combine(options.OutputDirectory, ArtifactNames.HeadOnlyTrainingModel));
            Log($"head-only training model: {headOnly.Graph.Node.Count} nodes");
        }

        var eval = BuildEvalModel(stored, options, targets, hidden, dataInputs);
        SaveShared(eval, Path.Combine(options.OutputDirectory, ArtifactNames.EvalModel));
        Log("eval model written");

        OptimizerModelBuilder.Build(training.Trainables, options.Optimizer)
            .Save(Path.Combine(options.OutputDirectory, ArtifactNames.OptimizerModel));
        Log("optimizer model written");

        var manifest = Describe(options, sha, stored.Opset, hidden, training, targets, dataInputs, tokenizer)
            with { HeadOnlyTrainingModel = headOnly != null ? ArtifactNames.HeadOnlyTrainingModel : null };
        WriteCheckpoint(options, manifest, training.InitialValues);
        if (options.VocabPath != null)
            AtomicFile.WriteAllBytes(Path.Combine(options.OutputDirectory, manifest.Tokenizer.VocabFile), File.ReadAllBytes(options.VocabPath));
        var ortFiles = options.OrtTraining is { } ort ? OrtArtifactWriter.Write(options.OutputDirectory, manifest, options.Optimizer, ort) : [];
        var methodFiles = options.Method.WriteArtifactFiles(options.OutputDirectory);
        manifest = manifest with { Files = ArtifactManifest.HashFiles(options.OutputDirectory, WrittenFiles(options, manifest).Concat(ortFiles).Concat(methodFiles)) };
        manifest.Save(Path.Combine(options.OutputDirectory, ArtifactNames.Manifest));
        Log($"manifest written: {manifest.Counts.Trainable} trainable, {manifest.Counts.AdapterStored:F0} stored adapter parameters");
        return manifest;
    }

    sealed record TrainingGraph(
        OnnxModel Model, IReadOnlyList<TrainableTensor> Trainables, IReadOnlyDictionary<string, float[]> InitialValues,
        IReadOnlyList<string> LabelInputs, AdapterPlan Plan, int BackwardNodes, PositionPruningResult? Pruning,
        StandardOpRewrite? Rewrite);

    // Step 1: the base model with its large tensors in the folder's weights file; everything built later
    // references that file instead of copying 90 MB three times.
    static OnnxModel StoreBase(PrepareOptions options)
    {
        string path = Path.Combine(options.OutputDirectory, ArtifactNames.BaseModel);
        var source = OnnxModel.Load(options.ModelPath);
        RequireNoHead(source, options.ModelPath);
        source.Save(path, new ExternalDataOptions { FileName = ArtifactNames.WeightsFile });
        return OnnxModel.Load(path);
    }

    // The names our head and loss add must be free: a model holding our head's weights is one we wrote (a merged model,
    // an artifact graph), and adapting it again would stack a second head on the first; an export with its own
    // `logits` (a sequence-classification export) is refused too, since the head reads the token states instead.
    static void RequireNoHead(OnnxModel model, string path)
    {
        var names = model.Graph.Initializer.Select(t => t.Name).Concat(model.Graph.Node.SelectMany(n => n.Output))
            .Concat(model.Graph.Input.Select(i => i.Name)).ToHashSet(StringComparer.Ordinal);
        if (new[] { ArtifactNames.HeadWeight, ArtifactNames.HeadBias }.FirstOrDefault(names.Contains) is { } ours)
            throw new BadInputException(
                $"{path}: already has '{ours}', the task head this tool adds: it is a model written by vblora (a merged model or an artifact graph). Prepare from the original export instead.");
        if (new[] { ArtifactNames.Logits, ArtifactNames.Embeddings, ArtifactNames.Loss }.FirstOrDefault(names.Contains) is { } taken)
            throw new BadInputException(
                $"{path}: already has a tensor named '{taken}', which the task head adds; export the model without a head (feature extraction, outputting the token states).");
    }

    // Step 2: adapter (parameters as inputs) + head + loss, differentiated with respect to every trainable.
    static TrainingGraph BuildTrainingModel(OnnxModel stored, PrepareOptions options, IReadOnlyList<LinearModule> targets,
        int hidden, IReadOnlyList<ValueInfoProto> dataInputs)
    {
        var (injected, head, trainables, pruning, rewrite) = Forward(stored, options, targets, hidden, training: true);
        var initial = new Dictionary<string, float[]>(options.Method.InitialValues(injected.Plan), StringComparer.Ordinal);
        foreach (var (name, values) in head.InitialValues)
            initial[name] = values;
        int backward = Differentiate(injected.Model, head, trainables, trainables, dataInputs, options.FusionShapedBackward);
        return new TrainingGraph(injected.Model, trainables, initial, head.LabelInputs.Select(l => l.Name).ToList(), injected.Plan,
            backward, pruning, rewrite);
    }

    // Step 2b: the same inputs, differentiated with respect to the head's tensors only (DESIGN.md §6.1): the backward
    // stops at the pooled token states, so a head-only run does no work in the encoder's backward. Its forward is the
    // eval graph's (no LayerNorm statistics kept, since nothing reads them). Null when the task has no head tensors.
    static OnnxModel? BuildHeadOnlyTrainingModel(OnnxModel stored, PrepareOptions options, IReadOnlyList<LinearModule> targets,
        int hidden, IReadOnlyList<ValueInfoProto> dataInputs)
    {
        var (injected, head, trainables, _, _) = Forward(stored, options, targets, hidden, training: false);
        var headTensors = trainables.Where(t => t.Group == ParameterGroups.Head).ToList();
        if (headTensors.Count == 0)
            return null;
        Differentiate(injected.Model, head, trainables, headTensors, dataInputs, options.FusionShapedBackward);
        return injected.Model;
    }

    // Appends the backward of the loss with respect to `wrt` and makes the outputs `loss`, then `<param>_grad` per
    // tensor of `wrt`; every trainable stays an input. Returns the number of nodes the backward added.
    static int Differentiate(OnnxModel model, TaskGraph head, IReadOnlyList<TrainableTensor> trainables, IReadOnlyList<TrainableTensor> wrt,
        IReadOnlyList<ValueInfoProto> dataInputs, bool fusionShaped)
    {
        int before = model.Graph.Node.Count;
        var gradients = ReverseDifferentiator.Differentiate(model, head.LossName!, wrt.Select(t => t.Name).ToList(), fusionShaped);
        StandardOpRewriter.DropUnreadStatistics(model.Graph);
        var e = LossOutputFirst(model, head.LossName!);
        foreach (var t in wrt)
        {
            e.OpNamed("Identity", [gradients.Gradients[t.Name]], [e.Names.Reserve(ArtifactNames.Grad(t.Name))]);
            model.Graph.Output.Add(ValueInfos.Float(ArtifactNames.Grad(t.Name), t.Shape.Cast<object>().ToArray()));
        }
        OrderInputs(model.Graph, dataInputs, head.LabelInputs, trainables);
        return model.Graph.Node.Count - before;
    }

    // Step 3: the same forward with the task output and the loss. Labels have a default (an initializer of the
    // same name), so they are optional: without them only the task output is meaningful.
    static OnnxModel BuildEvalModel(OnnxModel stored, PrepareOptions options, IReadOnlyList<LinearModule> targets,
        int hidden, IReadOnlyList<ValueInfoProto> dataInputs)
    {
        var (injected, head, trainables, _, _) = Forward(stored, options, targets, hidden, training: false);
        var model = injected.Model;
        var keep = model.Graph.Output.Single(o => o.Name == head.OutputName);
        LossOutputFirst(model, head.LossName!);
        model.Graph.Output.Add(keep);
        foreach (var label in head.LabelInputs)
            model.Graph.Initializer.Add(DefaultLabel(label));
        OrderInputs(model.Graph, dataInputs, head.LabelInputs, trainables);
        return model;
    }

    // The forward both graphs share: adapter with its parameters as inputs, then head and loss (head tensors as inputs).
    // The training graph's LayerNormalization nodes also output the statistics their backward reads.
    static (InjectedModel Injected, TaskGraph Head, List<TrainableTensor> Trainables, PositionPruningResult? Pruning, StandardOpRewrite? Rewrite) Forward(
        OnnxModel stored, PrepareOptions options, IReadOnlyList<LinearModule> targets, int hidden, bool training)
    {
        var injected = AdapterInjector.InjectWithGraphInputs(stored, options.Method, targets,
            options.AdaptedWeights ? TargetForm.Weight : TargetForm.Activation);
        var head = TaskHead.Append(injected.Model, options.Task, options.HiddenStatesOutput, options.AttentionMaskInput, hidden,
            withLoss: true, headAsInputs: true, options.Seed);
        // From here on the graph answers the task: the base model's own outputs (token states, pooler) are dropped,
        // so only what the task output and the loss read is kept and, where they read one position, computed.
        var graph = injected.Model.Graph;
        var taskOutput = graph.Output.Single(o => o.Name == head.OutputName);
        graph.Output.Clear();
        graph.Output.Add(taskOutput);
        graph.Output.Add(ValueInfos.Float(head.LossName!));
        var pruning = options.PrunePositions ? PositionPruning.Apply(injected.Model) : null;
        var rewrite = options.StandardOps ? StandardOpRewriter.Apply(injected.Model, statistics: training) : null;
        return (injected, head, injected.Plan.Parameters.Concat(head.Trainables).ToList(), pruning, rewrite);
    }

    // Replaces the graph outputs by `loss` (an Identity of the loss value); returns the emitter for further outputs.
    static GraphEmitter LossOutputFirst(OnnxModel model, string lossValue)
    {
        var e = new GraphEmitter(model.Graph, "outputs");
        model.Graph.Output.Clear();
        e.OpNamed("Identity", [lossValue], [e.Names.Reserve(ArtifactNames.Loss)]);
        model.Graph.Output.Add(ValueInfos.Float(ArtifactNames.Loss));
        return e;
    }

    static TensorProto DefaultLabel(ValueInfoProto label) =>
        label.Type.TensorType.ElemType == (int)TensorProto.Types.DataType.Int64
            ? Tensors.Int64(label.Name, [1], [0])
            : Tensors.Float(label.Name, [1], [0f]);

    // Inputs: the model's data inputs, then labels, then trainables in manifest order.
    static void OrderInputs(GraphProto graph, IReadOnlyList<ValueInfoProto> dataInputs, IReadOnlyList<ValueInfoProto> labels,
        IReadOnlyList<TrainableTensor> trainables)
    {
        var byName = graph.Input.ToDictionary(i => i.Name, StringComparer.Ordinal);
        graph.Input.Clear();
        foreach (var input in dataInputs) graph.Input.Add(byName[input.Name]);
        foreach (var label in labels) graph.Input.Add(byName[label.Name]);
        foreach (var t in trainables) graph.Input.Add(byName[t.Name]);
    }

    // Every file this builder writes (the data files of the training and eval graphs exist only when a tensor reached
    // the external-data threshold).
    static IEnumerable<string> WrittenFiles(PrepareOptions options, ArtifactManifest manifest) =>
    [
        ArtifactNames.BaseModel, ArtifactNames.WeightsFile, ArtifactNames.TrainingModel, DataFileOf(ArtifactNames.TrainingModel),
        .. manifest.HeadOnlyTrainingModel is { } headOnly ? [headOnly, DataFileOf(headOnly)] : Array.Empty<string>(),
        ArtifactNames.EvalModel, DataFileOf(ArtifactNames.EvalModel), ArtifactNames.OptimizerModel, ArtifactNames.InitialCheckpoint,
        .. options.VocabPath != null ? [manifest.Tokenizer.VocabFile] : Array.Empty<string>(),
    ];

    static string DataFileOf(string model) => Path.GetFileNameWithoutExtension(model) + ".data";

    static void SaveShared(OnnxModel model, string path) =>
        model.Save(path, new ExternalDataOptions { FileName = DataFileOf(path), ThresholdBytes = 1 << 20 });

    static IReadOnlyList<ValueInfoProto> DataInputs(OnnxModel model)
    {
        var initializers = model.Graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        return model.Graph.Input.Where(i => !initializers.Contains(i.Name)).Select(i => i.Clone()).ToList();
    }

    internal static int HiddenSize(OnnxModel model, string output)
    {
        if (model.Graph.Output.All(o => o.Name != output))
            throw new BadInputException($"{model.SourcePath}: the model has no output '{output}' (outputs: {string.Join(", ", model.Graph.Output.Select(o => o.Name))}). Pass the token-state output with --hidden-output.");
        var facts = ShapeInference.Infer(model, new GraphConstants(model));
        if (facts[output].Shape is { Count: > 0 } shape && shape[^1].Value is long size)
            return checked((int)size);
        throw new BadInputException($"{model.SourcePath}: cannot tell the size of the last axis of '{output}' from the graph.");
    }

    // The limits the model's embedding tables set, checked before anything is built: a maximum length past its positions
    // or a vocabulary with more tokens than its token table would only fail inside ONNX Runtime (or read wrong rows).
    // Lower-casing follows the vocabulary unless the user said otherwise.
    static TokenizerInfo CheckTokenizer(PrepareOptions options, OnnxModel stored)
    {
        var limits = EmbeddingLimits.Of(stored);
        if (options.MaxLength < 1)
            throw new UsageException($"--max-length {options.MaxLength} must be at least 1.");
        if (limits.Positions is int positions && options.MaxLength > positions)
            throw new UsageException($"--max-length {options.MaxLength} is beyond the {positions} positions {Path.GetFileName(options.ModelPath)} embeds; use at most {positions}.");
        if (options.VocabPath == null)
            return new TokenizerInfo("vocab.txt", options.LowerCase ?? true, options.MaxLength, limits.Positions);
        var vocab = VocabularyFacts.Read(options.VocabPath);
        if (limits.VocabularyRows is int rows && vocab.TokenCount > rows)
            throw new BadInputException(
                $"{options.VocabPath}: has {vocab.TokenCount} tokens but {Path.GetFileName(options.ModelPath)} embeds {rows}; ids past {rows - 1} would read no row. Pass the vocabulary the model was exported with (--vocab).");
        return new TokenizerInfo("vocab.txt", options.LowerCase ?? !vocab.Cased, options.MaxLength, limits.Positions, vocab.Sha256);
    }

    static ArtifactManifest Describe(PrepareOptions options, string sha, long opset, int hidden, TrainingGraph training,
        IReadOnlyList<LinearModule> targets, IReadOnlyList<ValueInfoProto> dataInputs, TokenizerInfo tokenizer)
    {
        long adapter = training.Plan.ParameterCount;
        long head = training.Trainables.Where(t => t.Group == ParameterGroups.Head).Sum(t => t.ElementCount);
        return new ArtifactManifest
        {
            BaseModel = new BaseModelInfo(ArtifactNames.BaseModel, sha, opset, options.HiddenStatesOutput, hidden, options.AttentionMaskInput),
            Method = options.Method.Name,
            MethodOptions = options.Method.SaveOptions(),
            Targets = targets,
            TargetSpec = options.Targets.ToString(),
            Trainables = training.Trainables,
            DataInputs = dataInputs.Select(i => i.Name).ToList(),
            LabelInputs = training.LabelInputs,
            Task = new TaskInfo(options.Task.Kind, options.Task.NumLabels, options.Task.EffectivePooling, null),
            Tokenizer = tokenizer,
            Counts = new ParameterCounts(adapter + head, adapter, options.Method.StoredParameterCount(training.Plan), head),
            Seed = options.Seed,
        };
    }

    static void WriteCheckpoint(PrepareOptions options, ArtifactManifest manifest, IReadOnlyDictionary<string, float[]> initial)
    {
        var tensors = manifest.Trainables.Select(t => new NamedTensor(t.Name, t.Shape, initial[t.Name])).ToList();
        new Checkpoint(manifest.Identity, 0, new DataLoaderPosition(0, 0, options.Seed), tensors)
            .Save(Path.Combine(options.OutputDirectory, ArtifactNames.InitialCheckpoint));
    }
}
