using System.Diagnostics;
using System.Text.Json.Nodes;
using VbLoraOrt.Adapters;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Contracts.Checkpoints;
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
    public static TrainSummary Start(TrainOptions options, ITrainingObserver observer, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var run = new RunFolder(options.Out);
        run.SaveOptions(options);
        return Execute(options, run, resume: false, observer, cancel);
    }

    /// <summary>Continues the run in <paramref name="runDirectory"/> from its last complete checkpoint.</summary>
    public static TrainSummary Resume(string runDirectory, ITrainingObserver observer, CancellationToken cancel = default)
    {
        var run = new RunFolder(runDirectory);
        var options = run.LoadOptions();
        run.DeleteInterruptedWrites();
        return Execute(options, run, resume: true, observer, cancel);
    }

    static TrainSummary Execute(TrainOptions options, RunFolder run, bool resume, ITrainingObserver observer, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var folder = ArtifactFolder.Open(options.Artifacts);
        var manifest = folder.Manifest;
        var tokenizer = folder.LoadTokenizer();
        int maxLength = options.MaxLength > 0 ? options.MaxLength : manifest.Tokenizer.MaxLength;
        var train = TrainingData.Load(options.TrainFile, manifest.Task, tokenizer, maxLength, options.SkipBadRows, classNames: null);
        var eval = options.EvalFile == null ? null
            : TrainingData.Load(options.EvalFile, manifest.Task, tokenizer, maxLength, options.SkipBadRows, train.ClassNames);
        run.SaveClassNames(train.ClassNames);
        var batching = new BatchOptions { BatchSize = options.BatchSize, MaxLength = maxLength, Padding = options.Padding, Seed = options.Seed };
        int batchesPerEpoch = (train.Encoded.Count + options.BatchSize - 1) / options.BatchSize;
        long totalSteps = options.MaxSteps > 0 ? options.MaxSteps : (long)options.Epochs * batchesPerEpoch;
        int epochs = options.MaxSteps > 0 ? int.MaxValue : options.Epochs;

        // A run killed before its first checkpoint resumes from where it started: the artifacts' initial state.
        string checkpointPath = resume && File.Exists(run.CheckpointPath) ? run.CheckpointPath : folder.InitialCheckpoint;
        var checkpoint = checkpointPath == run.CheckpointPath
            ? Checkpoint.Load(run.CheckpointPath, folder.Identity)
            : Prepared(Checkpoint.Load(folder.InitialCheckpoint, folder.Identity), options.HeadOnly);
        using var device = DeviceSessions.Open(new DeviceOptions { Device = options.Device, IntraOpThreads = options.Threads });
        using var state = CreateState(device, manifest, checkpoint, checkpointPath);
        using var trainer = Trainer.Create(state, folder.TrainingModel, folder.OptimizerModel);
        using var evaluator = eval == null ? null : Evaluator.ForArtifacts(device, folder);
        using var metrics = MetricsLog.Open(run.MetricsPath, checkpoint.Step);
        var schedule = new LearningRateSchedule(options.WarmupSteps, totalSteps);
        var groups = manifest.Trainables.Select(t => t.Group).Distinct().ToList();
        observer.Started(new RunPlan(train.Encoded.Count, batchesPerEpoch, totalSteps, state.Step, train.SkippedRows));

        EvalResult? lastEval = null;
        int rejected = 0, rejectedInARow = 0;
        var start = checkpoint.Position;
        var next = start; // the first batch not yet consumed
        void Save(DataLoaderPosition at) => state.ToCheckpoint(folder.Identity, at).Save(run.CheckpointPath);

        for (int epoch = start.Epoch; epoch < epochs && state.Step < totalSteps; epoch++)
        {
            var batches = train.Batches(batching, epoch, tokenizer.PaddingTokenId, manifest.DataInputs);
            for (int index = epoch == start.Epoch ? (int)start.BatchIndex : 0; index < batches.Count; index++)
            {
                if (state.Step >= totalSteps)
                    break;
                if (cancel.IsCancellationRequested)
                {
                    Save(next);
                    observer.Message($"cancelled at step {state.Step}; checkpoint saved to {run.CheckpointPath}");
                    return new TrainSummary(state.Step, lastEval, run.CheckpointPath, rejected, Cancelled: true, train.ClassNames);
                }
                var (feeds, tokens, sources) = batches[index];
                double factor = schedule.Factor(state.Step + 1);
                var settings = groups.ToDictionary(g => g, g => new GroupHyperparameters(
                    options.HeadOnly && g != ParameterGroups.Head ? 0f : (float)(options.LearningRates.GetValueOrDefault(g, 1e-3f) * factor),
                    options.WeightDecay));
                var clock = Stopwatch.StartNew();
                var result = trainer.Step(feeds, settings);
                double tokensPerSecond = tokens / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
                observer.Stepped(new StepReport(state.Step, totalSteps, epoch, result.Loss, factor, tokensPerSecond, result.Applied, result.Rejection));
                if (!result.Applied)
                {
                    rejected++;
                    rejectedInARow++;
                    if (options.OnNonFinite == NonFiniteAction.Stop)
                    {
                        Save(next);
                        throw new NonFiniteStepException(
                            $"{result.Rejection} Batch {index} of epoch {epoch} (first example: {sources}). The checkpoint {run.CheckpointPath} holds the last finite state (step {state.Step}); lower the learning rate or use --on-non-finite skip.");
                    }
                    observer.Message($"skipped batch {index} of epoch {epoch}: {result.Rejection}");
                    next = After(epoch, index, batches.Count, options.Seed);
                    // The parameters no longer change, so a whole epoch of rejections would repeat forever under --max-steps.
                    if (rejectedInARow >= batches.Count)
                    {
                        Save(next);
                        throw new NonFiniteStepException(
                            $"the last {rejectedInARow} batches (a whole epoch) were all rejected as non-finite; the parameters cannot recover. " +
                            $"The checkpoint {run.CheckpointPath} holds the last finite state (step {state.Step}); lower the learning rate.");
                    }
                    continue;
                }
                rejectedInARow = 0;
                metrics.Write(new JsonObject
                {
                    ["step"] = state.Step, ["epoch"] = epoch, ["loss"] = result.Loss, ["grad_norm"] = result.GradNorm,
                    ["lr_factor"] = factor, ["tokens_per_s"] = Math.Round(tokensPerSecond),
                });
                next = After(epoch, index, batches.Count, options.Seed);
                if (state.Step % options.CheckpointEvery == 0 || state.Step == totalSteps)
                    Save(next);
            }
            if (evaluator != null)
            {
                lastEval = evaluator.Evaluate(eval!.Encoded, batching, state.BindParameters, padId: tokenizer.PaddingTokenId);
                metrics.Write(new JsonObject
                {
                    ["step"] = state.Step, ["epoch"] = epoch, ["eval_loss"] = lastEval.Loss, ["eval_accuracy"] = lastEval.Accuracy,
                });
                observer.Evaluated(epoch, state.Step, lastEval);
            }
        }
        Save(next);
        return new TrainSummary(state.Step, lastEval, run.CheckpointPath, rejected, Cancelled: false, train.ClassNames);
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

    // A head-only baseline starts from a zero bank, so the adapter adds exactly nothing and the encoder is the base.
    static Checkpoint Prepared(Checkpoint initial, bool headOnly)
    {
        if (!headOnly)
            return initial;
        var tensors = initial.Tensors.Select(t => t.Name == AdapterTensorNames.VectorBank
            ? new NamedTensor(t.Name, t.Shape, new float[t.Values.Length]) : t).ToList();
        return new Checkpoint(initial.ArtifactsId, initial.Step, initial.Position, tensors);
    }
}
