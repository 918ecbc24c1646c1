using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.Runtime.Runs;
using VbLoraOrt.Runtime.Sessions;
using VbLoraOrt.Runtime.Training;

namespace VbLoraOrt.Tests.OrtTraining;

/// <summary>One int64 input of a batch (token ids, masks, class labels).</summary>
sealed record IntInput(string Name, long[] Dims, long[] Values);

/// <summary>
/// The project's runner (<see cref="Trainer"/>) on an artifact folder's own files, every group at one learning rate and
/// weight decay: the loss of each step and the trainables after it (in the manifest's order, which is ONNX Runtime's
/// contiguous-buffer order), and the final state.
/// </summary>
sealed record OurRun(string Artifacts, ArtifactManifest Manifest, List<float> Losses, List<float[]> Parameters, Checkpoint Final)
{
    public static OurRun Train(string artifacts, int steps, Func<ArtifactManifest, int, IReadOnlyList<IntInput>> batch, float learningRate, float weightDecay)
    {
        var folder = ArtifactFolder.Open(artifacts);
        var manifest = folder.Manifest;
        var initial = Checkpoint.Load(folder.InitialCheckpoint, folder.Identity);
        using var device = DeviceSessions.Open(new DeviceOptions { IntraOpThreads = 1 });
        using var state = TrainingState.Create(device, manifest.Trainables, initial);
        using var trainer = Trainer.Create(state, folder.TrainingModel, folder.OptimizerModel);
        var groups = manifest.Trainables.Select(t => t.Group).Distinct()
            .ToDictionary(g => g, _ => new GroupHyperparameters(learningRate, weightDecay), StringComparer.Ordinal);
        var run = new OurRun(artifacts, manifest, [], [], null!);
        for (int step = 0; step < steps; step++)
        {
            var result = trainer.Step(batch(manifest, step).Select(i => BatchTensor.Int64(i.Name, i.Dims, i.Values)).ToList(), groups);
            Assert.IsTrue(result.Applied, $"our step {step + 1} was rejected: {result.Rejection}");
            run.Losses.Add(result.Loss);
            run.Parameters.Add(Contiguous(manifest, state.Download()));
        }
        return run with { Final = state.ToCheckpoint(folder.Identity, new DataLoaderPosition(0, steps, 42)) };
    }

    public static float[] Contiguous(ArtifactManifest manifest, IReadOnlyList<NamedTensor> tensors) =>
        manifest.Trainables.SelectMany(t => tensors.Single(x => x.Name == t.Name).Values).ToArray();

    /// <summary>The batch as the harness feeds it to ONNX Runtime.</summary>
    public static Dictionary<string, FeedTensor> Feeds(IReadOnlyList<IntInput> batch) =>
        batch.ToDictionary(i => i.Name, i => new FeedTensor(i.Dims, i.Values.Select(v => (float)v).ToArray(), "int64"));
}
