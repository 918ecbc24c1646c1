using Microsoft.ML.OnnxRuntime;
using VbLoraOrt.Contracts.Artifacts;

namespace VbLoraOrt.Runtime.Training;

/// <summary>
/// The per-step scalars that cross between host and device: learning rate and weight decay per group and the
/// step count going in, loss, gradient norm and the finite flag coming out. Each is a pinned one-element host
/// array wrapped in an <see cref="OrtValue"/>, allocated once.
/// </summary>
sealed class HostScalars : IDisposable
{
    readonly float[] _loss = new float[1], _gradNorm = new float[1], _step = new float[1];
    readonly bool[] _allFinite = new bool[1];
    readonly Dictionary<string, (float[] Lr, float[] Wd, OrtValue LrValue, OrtValue WdValue)> _groups = new(StringComparer.Ordinal);
    readonly List<OrtValue> _owned = [];

    public HostScalars(IEnumerable<string> groups)
    {
        try
        {
            Loss = Wrap(_loss);
            GradNorm = Wrap(_gradNorm);
            AllFinite = Own(OrtValue.CreateTensorValueFromMemory(_allFinite, []));
            StepValue = Wrap(_step);
            foreach (string group in groups)
            {
                float[] lr = new float[1], wd = new float[1];
                _groups[group] = (lr, wd, Wrap(lr), Wrap(wd));
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public OrtValue Loss { get; }
    public OrtValue GradNorm { get; }
    public OrtValue AllFinite { get; }
    OrtValue StepValue { get; }

    public float LossValue => _loss[0];
    public float GradNormValue => _gradNorm[0];
    public bool AllFiniteValue => _allFinite[0];

    /// <summary>Writes this step's settings; <paramref name="step"/> is 1-based.</summary>
    public void Set(IReadOnlyDictionary<string, GroupHyperparameters> settings, long step)
    {
        _step[0] = step;
        foreach (var (group, (lr, wd, _, _)) in _groups)
        {
            lr[0] = settings[group].LearningRate;
            wd[0] = settings[group].WeightDecay;
        }
    }

    public void BindOptimizerInputs(OrtIoBinding binding)
    {
        binding.BindInput(ArtifactNames.Step, StepValue);
        foreach (var (group, (_, _, lr, wd)) in _groups)
        {
            binding.BindInput(ArtifactNames.LearningRate(group), lr);
            binding.BindInput(ArtifactNames.WeightDecay(group), wd);
        }
    }

    public void Dispose()
    {
        foreach (var value in _owned) value.Dispose();
        _owned.Clear();
    }

    OrtValue Wrap(float[] cell) => Own(OrtValue.CreateTensorValueFromMemory(cell, []));

    OrtValue Own(OrtValue value)
    {
        _owned.Add(value);
        return value;
    }
}
