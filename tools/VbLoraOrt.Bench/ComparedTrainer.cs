using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.Runtime.Runs;
using VbLoraOrt.Runtime.Sessions;
using VbLoraOrt.Runtime.Training;

namespace VbLoraOrt.Bench;

/// <summary>A trainer over another artifact folder (<see cref="BenchmarkOptions.CompareArtifacts"/>), at its initial values. Owns its state.</summary>
sealed class ComparedTrainer : IDisposable
{
    readonly TrainingState _state;

    ComparedTrainer(TrainingState state, Trainer trainer, IReadOnlyDictionary<string, GroupHyperparameters> settings)
    {
        _state = state;
        Trainer = trainer;
        Settings = settings;
    }

    public Trainer Trainer { get; }

    /// <summary>Every group at its default learning rate.</summary>
    public IReadOnlyDictionary<string, GroupHyperparameters> Settings { get; }

    public static ComparedTrainer Open(DeviceSessions device, string directory)
    {
        var folder = ArtifactFolder.Open(directory);
        var state = TrainingState.Create(device, folder.Manifest.Trainables, Checkpoint.Load(folder.InitialCheckpoint, folder.Identity));
        try
        {
            return new ComparedTrainer(state, Trainer.Create(state, folder.TrainingModel, folder.OptimizerModel), TrainingBenchmark.Settings(folder));
        }
        catch
        {
            state.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Trainer.Dispose();
        _state.Dispose();
    }
}
