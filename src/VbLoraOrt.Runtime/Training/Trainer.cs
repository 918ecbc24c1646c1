using Microsoft.ML.OnnxRuntime;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Sessions;

namespace VbLoraOrt.Runtime.Training;

/// <summary>
/// Drives training steps over a device-resident <see cref="TrainingState"/>: the training session (forward,
/// loss, backward) writes gradients into preallocated device buffers, the optimizer session reads values,
/// gradients and moments from one buffer and writes the other, and the buffers swap. Per step only the batch is
/// copied in and the loss, gradient norm and finite flag (three scalars) come out. Owns its two sessions and
/// bindings, not the state.
/// </summary>
/// <remarks>
/// Frozen tensors (a head-only graph differentiates the head only): the training graph gives them no gradient, their
/// gradient buffers hold zeros, and their groups must step at learning rate 0, so AdamW leaves them unchanged.
/// <para>Numerical guard: a non-finite loss stops the step before the optimizer runs; a non-finite gradient is caught
/// inside the optimizer graph (<see cref="ArtifactNames.AllFinite"/>), which then writes the old values, and the
/// buffers do not swap. Either way the state stays the last good one and <see cref="StepResult.Applied"/> is false.</para>
/// </remarks>
public sealed class Trainer : IDisposable
{
    readonly TrainingState _state;
    readonly InferenceSession _training;
    readonly InferenceSession _optimizer;
    readonly OrtIoBinding[] _trainingBindings;   // [b] reads parameter buffer b
    readonly OrtIoBinding[] _optimizerBindings;  // [b] reads buffer b, writes buffer 1 − b
    readonly HostScalars _scalars;
    readonly RunOptions _runOptions = new();
    readonly string[] _groups;
    readonly HashSet<string> _frozenGroups;
    List<OrtValue> _boundBatch = [];

    Trainer(TrainingState state, InferenceSession training, InferenceSession optimizer, OrtIoBinding[] trainingBindings,
        OrtIoBinding[] optimizerBindings, HostScalars scalars, string[] groups, HashSet<string> frozenGroups, string[] dataInputs,
        (string Training, string Optimizer) names)
    {
        _frozenGroups = frozenGroups;
        _names = names;
        _state = state;
        _training = training;
        _optimizer = optimizer;
        _trainingBindings = trainingBindings;
        _optimizerBindings = optimizerBindings;
        _scalars = scalars;
        _groups = groups;
        DataInputs = dataInputs;
    }

    readonly (string Training, string Optimizer) _names;

    /// <summary>Inputs of the training graph a batch must supply (data and labels), in graph order.</summary>
    public IReadOnlyList<string> DataInputs { get; }

    /// <summary>The state this trainer steps.</summary>
    public TrainingState State => _state;

    /// <summary>Opens <c>training_model.onnx</c> and <c>optimizer_model.onnx</c> files on the state's device.</summary>
    /// <param name="state">The state to step.</param>
    /// <param name="trainingModelPath">The training graph.</param>
    /// <param name="optimizerModelPath">The optimizer graph.</param>
    /// <param name="frozen">
    /// Trainables the training graph gives no gradient (e.g. the adapter, for the head-only graph); default none.
    /// Every group whose tensors are all frozen must then be stepped at learning rate 0.
    /// </param>
    /// <exception cref="BadInputException">A model lacks an input or output the contract requires.</exception>
    public static Trainer Create(TrainingState state, string trainingModelPath, string optimizerModelPath, IReadOnlySet<string>? frozen = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(trainingModelPath);
        ArgumentNullException.ThrowIfNull(optimizerModelPath);
        return Create(state, () => state.Device.CreateSession(trainingModelPath), trainingModelPath,
            () => state.Device.CreateSession(optimizerModelPath), optimizerModelPath, frozen ?? new HashSet<string>());
    }

    /// <summary>Opens training and optimizer models held in memory on the state's device.</summary>
    /// <exception cref="BadInputException">A model lacks an input or output the contract requires.</exception>
    public static Trainer Create(TrainingState state, byte[] trainingModel, byte[] optimizerModel)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(trainingModel);
        ArgumentNullException.ThrowIfNull(optimizerModel);
        return Create(state, () => state.Device.CreateSession(trainingModel), "training model (in memory)",
            () => state.Device.CreateSession(optimizerModel), "optimizer model (in memory)", new HashSet<string>());
    }

    static Trainer Create(TrainingState state, Func<InferenceSession> openTraining, string trainingName,
        Func<InferenceSession> openOptimizer, string optimizerName, IReadOnlySet<string> frozen)
    {
        if (frozen.FirstOrDefault(f => state.Trainables.All(t => t.Name != f)) is { } unknown)
            throw new ArgumentException($"frozen tensor '{unknown}' is not one of the trainables.", nameof(frozen));
        var owned = new List<IDisposable>();
        try
        {
            var training = Own(owned, openTraining());
            var optimizer = Own(owned, openOptimizer());
            string[] groups = [.. state.Trainables.Select(t => t.Group).Distinct(StringComparer.Ordinal)];
            var frozenGroups = groups.Where(g => state.Trainables.Where(t => t.Group == g).All(t => frozen.Contains(t.Name))).ToHashSet(StringComparer.Ordinal);
            string[] dataInputs = CheckTrainingModel(training, trainingName, state, frozen);
            CheckOptimizerModel(optimizer, optimizerName, state, groups);

            var scalars = Own(owned, new HostScalars(groups));
            var trainingBindings = new OrtIoBinding[2];
            var optimizerBindings = new OrtIoBinding[2];
            for (int b = 0; b < 2; b++)
            {
                trainingBindings[b] = Own(owned, training.CreateIoBinding());
                state.BindParameters(trainingBindings[b], b);
                state.BindGradientOutputs(trainingBindings[b], frozen);
                trainingBindings[b].BindOutput(ArtifactNames.Loss, scalars.Loss);

                optimizerBindings[b] = Own(owned, optimizer.CreateIoBinding());
                state.BindOptimizer(optimizerBindings[b], b);
                optimizerBindings[b].BindOutput(ArtifactNames.GradNorm, scalars.GradNorm);
                optimizerBindings[b].BindOutput(ArtifactNames.AllFinite, scalars.AllFinite);
            }
            return new Trainer(state, training, optimizer, trainingBindings, optimizerBindings, scalars, groups, frozenGroups, dataInputs, (trainingName, optimizerName));
        }
        catch
        {
            for (int i = owned.Count - 1; i >= 0; i--) owned[i].Dispose();
            throw;
        }
    }

    /// <summary>
    /// One step on <paramref name="batch"/>: forward and backward, then AdamW with each group's
    /// <paramref name="groups"/> settings, unless the numerical guard rejects it.
    /// </summary>
    /// <exception cref="ArgumentException">The batch does not supply exactly <see cref="DataInputs"/>, or a group lacks settings.</exception>
    public StepResult Step(IReadOnlyList<BatchTensor> batch, IReadOnlyDictionary<string, GroupHyperparameters> groups)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(groups);
        CheckBatch(batch);
        CheckGroups(groups);
        int current = _state.Current;
        long nextStep = _state.Step + 1;

        BindBatch(_trainingBindings[current], batch);
        Run(_training, _trainingBindings[current], _names.Training, $"training step {nextStep}");
        _trainingBindings[current].SynchronizeBoundOutputs();
        float loss = _scalars.LossValue;
        if (!float.IsFinite(loss))
            return new StepResult(_state.Step, loss, float.NaN, false,
                $"loss is {loss} at step {nextStep}; the update was skipped and the parameters kept (lower the learning rate?).");

        _scalars.Set(groups, nextStep);
        _scalars.BindOptimizerInputs(_optimizerBindings[current]); // rebound each step: on CUDA a bound host value is copied at bind time
        Run(_optimizer, _optimizerBindings[current], _names.Optimizer, $"optimizer step {nextStep}");
        _optimizerBindings[current].SynchronizeBoundOutputs();
        float gradNorm = _scalars.GradNormValue;
        if (!_scalars.AllFiniteValue)
            return new StepResult(_state.Step, loss, gradNorm, false,
                $"a gradient is not finite at step {nextStep} (grad norm {gradNorm}); the update was skipped and the parameters kept.");

        _state.CommitStep();
        return new StepResult(_state.Step, loss, gradNorm, true, null);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var value in _boundBatch) value.Dispose();
        foreach (var binding in _optimizerBindings.Concat(_trainingBindings)) binding.Dispose();
        _optimizer.Dispose();
        _training.Dispose();
        _scalars.Dispose();
        _runOptions.Dispose();
    }

    void BindBatch(OrtIoBinding binding, IReadOnlyList<BatchTensor> batch)
    {
        var values = new List<OrtValue>(batch.Count);
        try
        {
            foreach (var tensor in batch)
            {
                values.Add(tensor.ToOrtValue());
                binding.BindInput(tensor.Name, values[^1]);
            }
        }
        catch
        {
            foreach (var value in values) value.Dispose();
            throw;
        }
        // The previous batch stays pinned until now: the other binding may still point at it.
        foreach (var value in _boundBatch) value.Dispose();
        _boundBatch = values;
    }

    void Run(InferenceSession session, OrtIoBinding binding, string model, string where)
    {
        try
        {
            session.RunWithBinding(_runOptions, binding);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelRunException(model, where, e);
        }
    }

    void CheckBatch(IReadOnlyList<BatchTensor> batch)
    {
        var given = batch.Select(b => b.Name).ToList();
        var missing = DataInputs.Except(given, StringComparer.Ordinal).ToList();
        var unexpected = given.Except(DataInputs, StringComparer.Ordinal).ToList();
        var duplicates = given.GroupBy(n => n, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (missing.Count + unexpected.Count + duplicates.Count > 0)
            throw new ArgumentException(
                $"batch does not match the training model's data inputs [{string.Join(", ", DataInputs)}]:" +
                (missing.Count > 0 ? $" missing {string.Join(", ", missing)};" : "") +
                (unexpected.Count > 0 ? $" unexpected {string.Join(", ", unexpected)};" : "") +
                (duplicates.Count > 0 ? $" given twice {string.Join(", ", duplicates)};" : ""), nameof(batch));
    }

    void CheckGroups(IReadOnlyDictionary<string, GroupHyperparameters> groups)
    {
        foreach (string group in _groups)
        {
            if (!groups.TryGetValue(group, out var h))
                throw new ArgumentException($"no learning rate / weight decay for parameter group '{group}'.", nameof(groups));
            if (!(float.IsFinite(h.LearningRate) && h.LearningRate >= 0) || !(float.IsFinite(h.WeightDecay) && h.WeightDecay >= 0))
                throw new ArgumentException(
                    $"parameter group '{group}': learning rate {h.LearningRate} and weight decay {h.WeightDecay} must be finite and non-negative.", nameof(groups));
            if (_frozenGroups.Contains(group) && h.LearningRate != 0)
                throw new ArgumentException(
                    $"parameter group '{group}' is frozen in this trainer (its training graph gives it no gradient); its learning rate must be 0, not {h.LearningRate}.", nameof(groups));
        }
    }

    static string[] CheckTrainingModel(InferenceSession session, string name, TrainingState state, IReadOnlySet<string> frozen)
    {
        var inputs = session.InputNames;
        var outputs = session.OutputNames;
        var trainables = state.Trainables.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        RequireNames(name, "input", inputs, trainables);
        RequireNames(name, "output", outputs, [ArtifactNames.Loss, .. state.Trainables.Where(t => !frozen.Contains(t.Name)).Select(t => ArtifactNames.Grad(t.Name))]);
        return [.. inputs.Where(i => !trainables.Contains(i))];
    }

    static void CheckOptimizerModel(InferenceSession session, string name, TrainingState state, string[] groups)
    {
        var required = new List<string> { ArtifactNames.Step };
        foreach (string group in groups)
            required.AddRange([ArtifactNames.LearningRate(group), ArtifactNames.WeightDecay(group)]);
        var outputs = new List<string> { ArtifactNames.GradNorm, ArtifactNames.AllFinite };
        foreach (var t in state.Trainables)
        {
            string p = t.Name, m = ArtifactNames.FirstMoment(p), v = ArtifactNames.SecondMoment(p);
            required.AddRange([p, ArtifactNames.Grad(p), m, v]);
            outputs.AddRange([ArtifactNames.Updated(p), ArtifactNames.Updated(m), ArtifactNames.Updated(v)]);
        }
        RequireNames(name, "input", session.InputNames, required);
        RequireNames(name, "output", session.OutputNames, outputs);
        var extra = session.InputNames.Except(required, StringComparer.Ordinal).ToList();
        if (extra.Count > 0)
            throw new BadInputException($"{name}: unexpected optimizer inputs {string.Join(", ", extra)}; was it built for other trainables?");
    }

    static void RequireNames(string model, string kind, IReadOnlyList<string> present, IEnumerable<string> required)
    {
        var missing = required.Except(present, StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
            throw new BadInputException(
                $"{model} has no {kind}{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing.Select(m => $"'{m}'"))}; " +
                "the model and the trainables do not belong to the same artifacts; re-run `vblora-graph prepare`.");
    }

    static T Own<T>(List<IDisposable> owned, T value) where T : IDisposable
    {
        owned.Add(value);
        return value;
    }
}
