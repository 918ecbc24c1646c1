using Microsoft.ML.OnnxRuntime;
using VbLoraOrt.Runtime.Sessions;
using VbLoraOrt.Runtime.Training;

namespace VbLoraOrt.Bench;

/// <summary>
/// A self-contained forward model (the base export, or a merged one) bound once to a fixed batch, so each
/// <see cref="Run"/> is exactly one inference: inputs pinned on the host, outputs left in device memory.
/// Owns its session, binding and input values.
/// </summary>
public sealed class BoundForward : IDisposable
{
    readonly InferenceSession _session;
    readonly OrtIoBinding _binding;
    readonly List<OrtValue> _inputs;
    readonly RunOptions _runOptions = new();

    BoundForward(InferenceSession session, OrtIoBinding binding, List<OrtValue> inputs)
    {
        _session = session;
        _binding = binding;
        _inputs = inputs;
    }

    /// <summary>Opens <paramref name="modelPath"/> on <paramref name="device"/> and binds the batch inputs it has.</summary>
    /// <exception cref="ArgumentException">The model has an input <paramref name="batch"/> does not supply.</exception>
    public static BoundForward Open(DeviceSessions device, string modelPath, IReadOnlyList<BatchTensor> batch)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(batch);
        var session = device.CreateSession(modelPath);
        var inputs = new List<OrtValue>();
        OrtIoBinding? binding = null;
        try
        {
            binding = session.CreateIoBinding();
            foreach (string name in session.InputNames)
            {
                var tensor = batch.FirstOrDefault(b => b.Name == name)
                    ?? throw new ArgumentException($"{modelPath}: input '{name}' is not in the batch ({string.Join(", ", batch.Select(b => b.Name))}).", nameof(batch));
                inputs.Add(tensor.ToOrtValue());
                binding.BindInput(name, inputs[^1]);
            }
            foreach (string name in session.OutputNames)
                binding.BindOutputToDevice(name, OrtMemoryInfo.DefaultInstance);
            return new BoundForward(session, binding, inputs);
        }
        catch
        {
            foreach (var value in inputs) value.Dispose();
            binding?.Dispose();
            session.Dispose();
            throw;
        }
    }

    /// <summary>One inference on the bound batch.</summary>
    public void Run()
    {
        _session.RunWithBinding(_runOptions, _binding);
        _binding.SynchronizeBoundOutputs();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _binding.Dispose();
        foreach (var value in _inputs) value.Dispose();
        _session.Dispose();
        _runOptions.Dispose();
    }
}
