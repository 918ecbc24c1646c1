using System.Diagnostics;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.Contracts.Runs;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Data;
using VbLoraOrt.Runtime.Sessions;
using VbLoraOrt.Runtime.Training;

namespace VbLoraOrt.Runtime.Runs;

/// <summary>
/// <c>vblora-run train</c>: reads and tokenizes the data once, then steps the bound trainer through the epochs with
/// a seeded batch order, evaluates after every epoch, checkpoints every N steps and at the end, and on resume
/// continues from the checkpoint's data position so an interrupted run ends where an uninterrupted one would.
/// </summary>
public static class TrainingRun
{
    /// <summary>Starts a new run in <see cref="TrainOptions.Out"/>.</summary>
    /// <param name="options">The run's options.</param>
    /// <param name="observer">Receives progress.</param>
    /// <param name="cancel">Stops the run after saving a checkpoint.</param>
    /// <param name="overwrite">
    /// Replace the files of a run already in the folder (only the files a run writes: <see cref="RunLayout.All"/>).
    /// Without it such a folder is refused, so no earlier run is lost.
    /// </param>
    /// <exception cref="UsageException">
    /// An option is out of range, names a parameter group the artifacts do not have, or the folder already holds a run.
    /// </exception>
    /// <param name="startFrom">
    /// The state to start from instead of the artifacts' initial one (e.g. an ONNX Runtime checkpoint's, see
    /// <see cref="OrtCheckpointRuns"/>); it becomes the run's first checkpoint, so the run resumes like any other.
    /// </param>
    public static TrainSummary Start(TrainOptions options, ITrainingObserver observer, CancellationToken cancel = default, bool overwrite = false,
        Func<ArtifactFolder, Checkpoint>? startFrom = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        options = options.WithAbsolutePaths();
        var folder = ArtifactFolder.Open(options.Artifacts);
        var resolved = options.WithLearningRates(ResolveLearningRates(folder, options.LearningRates));
        var start = startFrom?.Invoke(folder);
        var run = new RunFolder(resolved.Out);
        run.RequireClaimable(overwrite);
        bool created = !Directory.Exists(run.Directory);
        try
        {
            // The folder is claimed (an earlier run's files replaced) only once the data, model and sessions are ready.
            var state = start == null ? (Initial(folder, resolved.HeadOnly), folder.InitialCheckpoint) : (start, run.CheckpointPath);
            return Execute(resolved, folder, run, state, resumed: false, observer, cancel, claim: () =>
            {
                run.ClaimForNewRun(overwrite);
                run.SaveOptions(resolved);
                start?.Save(run.CheckpointPath);
            });
        }
        catch when (created && !File.Exists(run.CheckpointPath))
        {
            run.DeleteCreatedFolder(); // a run that failed before saving any state leaves no folder behind
            throw;
        }
    }

    /// <summary>
    /// Continues the run in <paramref name="runDirectory"/> from its last complete checkpoint; <paramref name="extension"/>
    /// (<c>--max-steps</c>, <c>--epochs</c>) trains a finished run further, and is recorded in its <c>run.json</c>.
    /// </summary>
    /// <exception cref="UsageException">The extension does not go past the step the run is at.</exception>
    public static TrainSummary Resume(string runDirectory, ITrainingObserver observer, CancellationToken cancel = default, RunExtension? extension = null)
    {
        var run = new RunFolder(runDirectory);
        var options = run.LoadOptions();
        run.DeleteInterruptedWrites();
        var folder = ArtifactFolder.Open(options.Artifacts);
        // run.json files written before rates were resolved per artifacts list a rate for every group any method has.
        var groups = folder.Manifest.Trainables.Select(t => t.Group).ToHashSet(StringComparer.Ordinal);
        var own = options.LearningRates.Where(g => groups.Contains(g.Key)).ToDictionary(g => g.Key, g => g.Value, StringComparer.Ordinal);
        options = options.WithLearningRates(ResolveLearningRates(folder, own));
        if (extension != null)
            options = extension.ApplyTo(options);
        // A run killed before its first checkpoint resumes from where it started: the artifacts' initial state.
        var state = File.Exists(run.CheckpointPath)
            ? (Checkpoint.Load(run.CheckpointPath, folder.Identity), run.CheckpointPath)
            : (Initial(folder, options.HeadOnly), folder.InitialCheckpoint);
        return Execute(options, folder, run, state, resumed: true, observer, cancel, claim: () =>
        {
            if (extension != null)
                run.SaveOptions(options);
        }, extension);
    }

    /// <summary>
    /// The learning rate of every parameter group of <paramref name="folder"/>'s trainables: the given one, else the
    /// group's default (its method's, or the head's).
    /// </summary>
    /// <exception cref="UsageException">A given group is not one of the artifacts' groups.</exception>
    public static Dictionary<string, float> ResolveLearningRates(ArtifactFolder folder, IReadOnlyDictionary<string, float> given)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(given);
        var groups = folder.Manifest.Trainables.Select(t => t.Group).Distinct(StringComparer.Ordinal).ToList();
        foreach (string group in given.Keys)
            if (!groups.Contains(group))
                throw new UsageException(
                    $"--lr {group}: the artifacts in {folder.Directory} ({folder.Manifest.Method}) have no parameter group '{group}'; their groups are {string.Join(", ", groups)}.");
        return groups.ToDictionary(g => g, g => given.TryGetValue(g, out float rate) ? rate
            : AdapterMethods.DefaultLearningRate(g) ?? throw new BadInputException(
                $"{folder.Directory}: parameter group '{g}' has no default learning rate in this build; give one with --lr {g}=VALUE."),
            StringComparer.Ordinal);
    }

    // Loads the data and builds the sessions, then calls `claim` (which writes into the run folder) and trains.
    // `from` is the state to train from and the file it is (to be) saved in, which errors about it name.
    static TrainSummary Execute(TrainOptions options, ArtifactFolder folder, RunFolder run, (Checkpoint State, string Path) from, bool resumed,
        ITrainingObserver observer, CancellationToken cancel, Action claim, RunExtension? extension = null)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var (manifest, checkpoint) = (folder.Manifest, from.State);
        var tokenizer = folder.LoadTokenizer();
        int maxLength = manifest.Tokenizer.LengthFor(options.MaxLength);
        var train = TrainingData.Load(options.TrainFile, manifest.Task, tokenizer, maxLength, options.SkipBadRows, classNames: null);
        var eval = options.EvalFile == null ? null
            : TrainingData.Load(options.EvalFile, manifest.Task, tokenizer, maxLength, options.SkipBadRows, train.ClassNames);
        var batching = new BatchOptions { BatchSize = options.BatchSize, MaxLength = maxLength, Padding = options.Padding, Seed = options.Seed };
        int batchesPerEpoch = (train.Encoded.Count + options.BatchSize - 1) / options.BatchSize;
        long totalSteps = options.MaxSteps ?? (long)options.Epochs * batchesPerEpoch;
        int epochs = options.MaxSteps.HasValue ? int.MaxValue : options.Epochs;
        extension?.RequireBeyond(checkpoint.Step, totalSteps);

        using var device = DeviceSessions.Open(new DeviceOptions { Device = options.Device, IntraOpThreads = options.Threads });
        using var state = CreateState(device, manifest, checkpoint, from.Path);
        using var trainer = OpenTrainer(folder, state, options.HeadOnly, observer);
        using var evaluator = eval == null ? null : Evaluator.ForArtifacts(device, folder);
        claim();
        run.SaveClassNames(train.ClassNames);
        using var metrics = MetricsLog.Open(run.MetricsPath, checkpoint.Step);
        var schedule = new LearningRateSchedule(options.WarmupSteps, totalSteps);
        var rejections = new RejectionPolicy(options.OnNonFinite);
        if (resumed && checkpoint.Step >= totalSteps)
            observer.Message($"the run finished at step {checkpoint.Step}; give --max-steps or --epochs with --resume to train it further");
        observer.Started(new RunPlan(train.Encoded.Count, batchesPerEpoch, totalSteps, state.Step, train.SkippedRows));

        EvalResult? lastEval = null;
        var start = checkpoint.Position;
        var next = start; // the first batch not yet consumed
        void Save(DataLoaderPosition at) => state.ToCheckpoint(folder.Identity, at).Save(run.CheckpointPath);
        TrainSummary Summary(bool cancelled) => new(state.Step, lastEval, run.CheckpointPath, rejections.Count, cancelled, train.ClassNames);

        for (int epoch = start.Epoch; epoch < epochs && state.Step < totalSteps; epoch++)
        {
            var batches = train.Batches(batching, epoch, tokenizer.PaddingTokenId, manifest.DataInputs);
            for (int index = epoch == start.Epoch ? (int)start.BatchIndex : 0; index < batches.Count && state.Step < totalSteps; index++)
            {
                if (cancel.IsCancellationRequested)
                {
                    Save(next);
                    observer.Message($"cancelled at step {state.Step}; checkpoint saved to {run.CheckpointPath}");
                    return Summary(cancelled: true);
                }
                var (feeds, tokens, sources) = batches[index];
                double factor = schedule.Factor(state.Step + 1);
                var clock = Stopwatch.StartNew();
                var result = Step(trainer, feeds, GroupSettings(options, factor), $"batch {index} of epoch {epoch}, first example {sources}");
                double tokensPerSecond = tokens / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
                observer.Stepped(new StepReport(state.Step, totalSteps, epoch, result.Loss, factor, tokensPerSecond, result.Applied, result.Rejection));
                if (!result.Applied)
                {
                    string? stop = rejections.Reject(result.Rejection!, batches.Count);
                    if (options.OnNonFinite == NonFiniteAction.Skip)
                    {
                        observer.Message($"skipped batch {index} of epoch {epoch}: {result.Rejection}");
                        next = After(epoch, index, batches.Count, options.Seed);
                    }
                    if (stop != null)
                    {
                        Save(next);
                        throw new NonFiniteStepException(
                            $"{stop} Batch {index} of epoch {epoch} (first example: {sources}). The checkpoint {run.CheckpointPath} holds the last finite state (step {state.Step}); lower the learning rate{(options.OnNonFinite == NonFiniteAction.Stop ? " or use --on-non-finite skip" : "")}.");
                    }
                    continue;
                }
                rejections.Applied();
                next = After(epoch, index, batches.Count, options.Seed);
                metrics.Write(new StepMetrics(state.Step, epoch, result.Loss, result.GradNorm, factor, Math.Round(tokensPerSecond)));
                if (state.Step % options.CheckpointEvery == 0 || state.Step == totalSteps)
                    Save(next);
            }
            if (evaluator != null)
            {
                lastEval = evaluator.Evaluate(eval!.Encoded, batching, state.BindParameters, padId: tokenizer.PaddingTokenId);
                metrics.Write(new EvalMetrics(state.Step, epoch, lastEval.Loss, lastEval.Accuracy));
                observer.Evaluated(epoch, state.Step, lastEval);
            }
        }
        Save(next);
        return Summary(cancelled: false);
    }

    // A head-only run steps the head-only graph (no backward through the encoder; the adapter frozen) when the artifacts
    // have one; artifacts prepared before it step the full graph with the adapter's learning rate 0, as runs did then.
    static Trainer OpenTrainer(ArtifactFolder folder, TrainingState state, bool headOnly, ITrainingObserver observer)
    {
        if (!headOnly)
            return Trainer.Create(state, folder.TrainingModel, folder.OptimizerModel);
        if (folder.HeadOnlyTrainingModel is { } headOnlyGraph)
        {
            var adapter = folder.Manifest.Trainables.Where(t => t.Group != ParameterGroups.Head).Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
            return Trainer.Create(state, headOnlyGraph, folder.OptimizerModel, frozen: adapter);
        }
        observer.Message($"{folder.Directory} has no head-only training graph (prepared by an earlier version): the full graph runs with the adapter frozen; " +
                         "re-run `vblora-graph prepare` for faster head-only steps");
        return Trainer.Create(state, folder.TrainingModel, folder.OptimizerModel);
    }

    // Each group's learning rate at this point of the schedule; a head-only run never moves the adapter.
    static Dictionary<string, GroupHyperparameters> GroupSettings(TrainOptions options, double factor) =>
        options.LearningRates.ToDictionary(g => g.Key, g => new GroupHyperparameters(
            options.HeadOnly && g.Key != ParameterGroups.Head ? 0f : (float)(g.Value * factor), options.WeightDecay));

    // A failure inside ONNX Runtime names the model, the step and the batch.
    static StepResult Step(Trainer trainer, IReadOnlyList<BatchTensor> feeds, IReadOnlyDictionary<string, GroupHyperparameters> settings,
        string where)
    {
        try
        {
            return trainer.Step(feeds, settings);
        }
        catch (ModelRunException e)
        {
            throw e.With(where);
        }
    }

    // A checkpoint whose tensors do not fit the trainables is a bad file (exit code 1), not a bad command line.
    static TrainingState CreateState(DeviceSessions device, ArtifactManifest manifest, Checkpoint checkpoint, string path)
    {
        try
        {
            return TrainingState.Create(device, manifest.Trainables, checkpoint);
        }
        catch (ArgumentException e)
        {
            throw new CheckpointException(path, e.Message, e);
        }
    }

    static DataLoaderPosition After(int epoch, int index, int batchCount, long seed) =>
        index + 1 == batchCount ? new DataLoaderPosition(epoch + 1, 0, seed) : new DataLoaderPosition(epoch, index + 1, seed);

    // The artifacts' initial state; for a head-only baseline the method's zero update, so the adapter adds exactly
    // nothing and the encoder is the base model.
    static Checkpoint Initial(ArtifactFolder folder, bool headOnly)
    {
        var initial = Checkpoint.Load(folder.InitialCheckpoint, folder.Identity);
        if (!headOnly)
            return initial;
        var adapter = folder.Plan.Parameters.ToDictionary(p => p.Name, p => initial.Tensors.Single(t => t.Name == p.Name).Values, StringComparer.Ordinal);
        var zeroed = folder.Method.ZeroUpdate(folder.Plan, adapter);
        var tensors = initial.Tensors.Select(t => zeroed.TryGetValue(t.Name, out float[]? z) ? new NamedTensor(t.Name, t.Shape, z) : t).ToList();
        return new Checkpoint(initial.ArtifactsId, initial.Step, initial.Position, tensors);
    }
}
