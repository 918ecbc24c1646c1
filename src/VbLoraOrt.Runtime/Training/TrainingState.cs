using Microsoft.ML.OnnxRuntime;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Sessions;

namespace VbLoraOrt.Runtime.Training;

/// <summary>
/// The training state resident on the device: per trainable tensor its value, gradient, and AdamW moments, each
/// an <see cref="OrtValue"/> in device memory. Values and moments are double-buffered: the optimizer reads one
/// buffer and writes the other, then the two swap roles, so no step copies them. Owns its device memory;
/// dispose it after the <see cref="Trainer"/> using it.
/// </summary>
public sealed class TrainingState : IDisposable
{
    readonly Slot[] _slots;

    TrainingState(DeviceSessions device, IReadOnlyList<TrainableTensor> trainables, Slot[] slots, long step)
    {
        Device = device;
        Trainables = trainables;
        _slots = slots;
        Step = step;
    }

    /// <summary>The device the state lives on.</summary>
    public DeviceSessions Device { get; }

    /// <summary>The trainable tensors, in the order of the artifacts.</summary>
    public IReadOnlyList<TrainableTensor> Trainables { get; }

    /// <summary>Optimizer steps applied so far.</summary>
    public long Step { get; private set; }

    /// <summary>Which of the two buffers holds the live values and moments (0 or 1).</summary>
    internal int Current { get; private set; }

    /// <summary>
    /// Allocates the state on <paramref name="device"/> and uploads it from <paramref name="checkpoint"/>:
    /// every trainable by name, and its moments (which may be absent only at step 0, meaning zeros).
    /// </summary>
    /// <exception cref="ArgumentException">The checkpoint lacks a tensor, has one of another shape, or has tensors no trainable owns.</exception>
    public static TrainingState Create(DeviceSessions device, IReadOnlyList<TrainableTensor> trainables, Checkpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(trainables);
        ArgumentNullException.ThrowIfNull(checkpoint);
        var hostValues = MatchCheckpoint(trainables, checkpoint);

        var slots = new List<Slot>(trainables.Count);
        try
        {
            foreach (var t in trainables)
            {
                var slot = new Slot(t);
                slots.Add(slot);
                slot.Allocate(device);
                device.Upload(hostValues[t.Name], slot.Param[0]);
                device.Upload(hostValues[ArtifactNames.FirstMoment(t.Name)], slot.FirstMoment[0]);
                device.Upload(hostValues[ArtifactNames.SecondMoment(t.Name)], slot.SecondMoment[0]);
            }
            return new TrainingState(device, trainables, [.. slots], checkpoint.Step);
        }
        catch
        {
            foreach (var slot in slots) slot.Dispose();
            throw;
        }
    }

    /// <summary>Copies the live values and moments to the host, named per <see cref="ArtifactNames"/>.</summary>
    public IReadOnlyList<NamedTensor> Download()
    {
        var tensors = new List<NamedTensor>(3 * _slots.Length);
        foreach (var slot in _slots)
        {
            string name = slot.Tensor.Name;
            tensors.Add(new NamedTensor(name, slot.Tensor.Shape, Device.Download(slot.Param[Current])));
            tensors.Add(new NamedTensor(ArtifactNames.FirstMoment(name), slot.Tensor.Shape, Device.Download(slot.FirstMoment[Current])));
            tensors.Add(new NamedTensor(ArtifactNames.SecondMoment(name), slot.Tensor.Shape, Device.Download(slot.SecondMoment[Current])));
        }
        return tensors;
    }

    /// <summary>A checkpoint of the live state, for artifacts <paramref name="artifactsId"/> at <paramref name="position"/>.</summary>
    public Checkpoint ToCheckpoint(string artifactsId, DataLoaderPosition position) => new(artifactsId, Step, position, Download());

    /// <summary>Binds the live trainable values as inputs of <paramref name="binding"/> (e.g. of the eval session).</summary>
    public void BindParameters(OrtIoBinding binding)
    {
        ArgumentNullException.ThrowIfNull(binding);
        BindParameters(binding, Current);
    }

    internal void BindParameters(OrtIoBinding binding, int buffer)
    {
        foreach (var slot in _slots)
            binding.BindInput(slot.Tensor.Name, slot.Param[buffer]);
    }

    /// <summary>
    /// Binds the gradient buffers as outputs <c>&lt;param&gt;_grad</c> of the training session, except those of
    /// <paramref name="frozen"/> tensors, whose gradients are set to zero once (the session gives them none).
    /// </summary>
    internal void BindGradientOutputs(OrtIoBinding binding, IReadOnlySet<string> frozen)
    {
        foreach (var slot in _slots)
        {
            if (frozen.Contains(slot.Tensor.Name))
                Device.Upload(new float[slot.Tensor.ElementCount], slot.Grad);
            else
                binding.BindOutput(ArtifactNames.Grad(slot.Tensor.Name), slot.Grad);
        }
    }

    /// <summary>Binds the optimizer: reads p, g, m, v from <paramref name="source"/>, writes the other buffer.</summary>
    internal void BindOptimizer(OrtIoBinding binding, int source)
    {
        int target = 1 - source;
        foreach (var slot in _slots)
        {
            string p = slot.Tensor.Name, m = ArtifactNames.FirstMoment(p), v = ArtifactNames.SecondMoment(p);
            binding.BindInput(p, slot.Param[source]);
            binding.BindInput(ArtifactNames.Grad(p), slot.Grad);
            binding.BindInput(m, slot.FirstMoment[source]);
            binding.BindInput(v, slot.SecondMoment[source]);
            binding.BindOutput(ArtifactNames.Updated(p), slot.Param[target]);
            binding.BindOutput(ArtifactNames.Updated(m), slot.FirstMoment[target]);
            binding.BindOutput(ArtifactNames.Updated(v), slot.SecondMoment[target]);
        }
    }

    /// <summary>Makes the buffer the optimizer just wrote the live one and counts the step.</summary>
    internal void CommitStep()
    {
        Current = 1 - Current;
        Step++;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var slot in _slots) slot.Dispose();
    }

    static Dictionary<string, float[]> MatchCheckpoint(IReadOnlyList<TrainableTensor> trainables, Checkpoint checkpoint)
    {
        var values = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var t in trainables)
        {
            values[t.Name] = Take(checkpoint, t, t.Name, allowMissing: false);
            foreach (string moment in new[] { ArtifactNames.FirstMoment(t.Name), ArtifactNames.SecondMoment(t.Name) })
                values[moment] = Take(checkpoint, t, moment, allowMissing: checkpoint.Step == 0);
        }
        var unowned = checkpoint.Tensors.Select(x => x.Name).Where(n => !values.ContainsKey(n)).ToList();
        if (unowned.Count > 0)
            throw new ArgumentException(
                $"checkpoint holds tensors no trainable owns: {string.Join(", ", unowned.Select(n => $"'{n}'"))}; it was written for other artifacts.",
                nameof(checkpoint));
        return values;
    }

    static float[] Take(Checkpoint checkpoint, TrainableTensor owner, string name, bool allowMissing)
    {
        var tensor = checkpoint.Find(name);
        if (tensor is null)
        {
            if (allowMissing)
                return new float[owner.ElementCount];
            throw new ArgumentException(
                $"checkpoint has no tensor '{name}' for trainable '{owner.Name}' [{string.Join(",", owner.Shape)}]" +
                (name == owner.Name ? "." : $" (moments may be omitted only at step 0; this checkpoint is at step {checkpoint.Step})."),
                nameof(checkpoint));
        }
        if (!tensor.Shape.SequenceEqual(owner.Shape))
            throw new ArgumentException(
                $"checkpoint tensor '{name}' has shape [{string.Join(",", tensor.Shape)}], trainable '{owner.Name}' needs [{string.Join(",", owner.Shape)}].",
                nameof(checkpoint));
        return tensor.Values;
    }

    /// <summary>The device buffers of one trainable: value, m, v twice (double buffering), gradient once.</summary>
    sealed class Slot(TrainableTensor tensor) : IDisposable
    {
        public TrainableTensor Tensor { get; } = tensor;
        public OrtValue[] Param { get; } = new OrtValue[2];
        public OrtValue[] FirstMoment { get; } = new OrtValue[2];
        public OrtValue[] SecondMoment { get; } = new OrtValue[2];
        public OrtValue Grad { get; private set; } = null!;

        public void Allocate(DeviceSessions device)
        {
            for (int b = 0; b < 2; b++)
            {
                Param[b] = device.AllocateFloat(Tensor.Shape);
                FirstMoment[b] = device.AllocateFloat(Tensor.Shape);
                SecondMoment[b] = device.AllocateFloat(Tensor.Shape);
            }
            Grad = device.AllocateFloat(Tensor.Shape);
        }

        public void Dispose()
        {
            foreach (var value in Param.Concat(FirstMoment).Concat(SecondMoment).Append(Grad))
                value?.Dispose();
        }
    }
}
