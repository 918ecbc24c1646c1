using VbLoraOrt.Adapters.Methods.Lora;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.GraphBuilder.Artifacts.Optimizer;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Sessions;
using VbLoraOrt.Runtime.Training;
using static VbLoraOrt.Tests.Runtime.LinearRegressionArtifacts;

namespace VbLoraOrt.Tests.Runtime;

[TestClass]
public sealed class TrainerTests
{
    const string ArtifactsId = "sha256:linear-regression";
    const long Seed = 7;
    static readonly DeviceOptions Cpu = new() { Device = ExecutionDevice.Cpu, IntraOpThreads = 1 };
    static readonly Dictionary<string, GroupHyperparameters> Settings = new()
    {
        [ParameterGroups.Head] = new(0.05f, 0.01f),
        [LoraNames.Group] = new(0.02f, 0f),
    };

    sealed class Run : IDisposable
    {
        public required DeviceSessions Device { get; init; }
        public required TrainingState State { get; init; }
        public required Trainer Trainer { get; init; }

        public static Run Open(Checkpoint checkpoint)
        {
            var device = DeviceSessions.Open(Cpu);
            TrainingState? state = null;
            try
            {
                state = TrainingState.Create(device, Trainables, checkpoint);
                return new Run { Device = device, State = state, Trainer = Trainer.Create(state, TrainingModel(), OptimizerModel()) };
            }
            catch
            {
                state?.Dispose();
                device.Dispose();
                throw;
            }
        }

        public StepResult Step(long batchIndex, IReadOnlyDictionary<string, GroupHyperparameters>? settings = null) =>
            Trainer.Step(ToBatch(Batch(Seed, batchIndex)), settings ?? Settings);

        public float[] Tensor(string name) => State.Download().Single(t => t.Name == name).Values;

        public void Dispose()
        {
            Trainer.Dispose();
            State.Dispose();
            Device.Dispose();
        }
    }

    [TestMethod]
    public void Step_ForThirtySteps_ReducesLossAndMatchesReferenceAdamW()
    {
        var initial = Initial(ArtifactsId);
        using var run = Run.Open(initial);
        var options = new AdamWOptions();
        var w = new ReferenceAdamW(initial.Find(Weight.Name)!.Values, options.Beta1, options.Beta2, options.Epsilon);
        var b = new ReferenceAdamW(initial.Find(Bias.Name)!.Values, options.Beta1, options.Beta2, options.Epsilon);
        var losses = new List<float>();

        for (int step = 0; step < 30; step++)
        {
            var batch = Batch(Seed, step);
            var expected = Reference(w.P, b.P, batch);
            var result = run.Trainer.Step(ToBatch(batch), Settings);
            w.Step(expected.WeightGrad, Settings[Weight.Group].LearningRate, Settings[Weight.Group].WeightDecay);
            b.Step(expected.BiasGrad, Settings[Bias.Group].LearningRate, Settings[Bias.Group].WeightDecay);

            Assert.IsTrue(result.Applied, result.Rejection);
            Assert.AreEqual(step + 1, result.Step);
            Assert.AreEqual(expected.Loss, result.Loss, 1e-4 * Math.Max(1, expected.Loss), $"loss at step {step + 1}");
            losses.Add(result.Loss);
        }

        Assert.IsLessThan(0.5f * losses[0], losses[^1], $"loss fell from {losses[0]} to {losses[^1]}");
        // Float32 graphs vs a float64 reference over 30 steps of size ≤ 0.05: 1e-4 absolute.
        AssertClose(w.P, run.Tensor(Weight.Name), 1e-4, Weight.Name);
        AssertClose(b.P, run.Tensor(Bias.Name), 1e-4, Bias.Name);
        AssertClose(w.M, run.Tensor(ArtifactNames.FirstMoment(Weight.Name)), 1e-4, "first moment");
    }

    [TestMethod]
    public void Checkpoint_WhenResumedAtStepN_ContinuesBitwiseLikeAStraightRun()
    {
        const int N = 10;
        string path = Path.Combine(Path.GetTempPath(), "vblora-tests", Guid.NewGuid().ToString("N"), "run.ckpt");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);

        IReadOnlyList<NamedTensor> straight;
        using (var run = Run.Open(Initial(ArtifactsId)))
        {
            for (int i = 0; i < 2 * N; i++) Assert.IsTrue(run.Step(i).Applied);
            straight = run.State.Download();
        }

        using (var first = Run.Open(Initial(ArtifactsId)))
        {
            for (int i = 0; i < N; i++) first.Step(i);
            first.State.ToCheckpoint(ArtifactsId, new DataLoaderPosition(0, N, Seed)).Save(path);
        }
        var checkpoint = Checkpoint.Load(path, ArtifactsId);
        using var resumed = Run.Open(checkpoint);
        Assert.AreEqual(N, resumed.State.Step);
        for (long i = checkpoint.Position.BatchIndex; i < 2 * N; i++) Assert.IsTrue(resumed.Step(i).Applied);

        Assert.AreEqual(2L * N, resumed.State.Step);
        var again = resumed.State.Download();
        Assert.HasCount(straight.Count, again);
        for (int t = 0; t < straight.Count; t++)
        {
            Assert.AreEqual(straight[t].Name, again[t].Name);
            CollectionAssert.AreEqual(Bits(straight[t].Values), Bits(again[t].Values), $"{straight[t].Name} differs bitwise");
        }
    }

    [TestMethod]
    public void Step_WhenLearningRateDiverges_RejectsWithinOneStepAndKeepsStateFinite()
    {
        // Adam moves every parameter by ≈ lr in step 1; with lr = 1e36 the next forward pass overflows.
        var explosive = Settings.ToDictionary(kv => kv.Key, _ => new GroupHyperparameters(1e36f, 0f));
        using var run = Run.Open(Initial(ArtifactsId));

        var first = run.Step(0, explosive);
        var afterFirst = run.State.Download();
        var second = run.Step(1, explosive);
        var third = run.Step(2, explosive);

        Assert.IsTrue(first.Applied, "step 1 still has a finite loss and gradients");
        Assert.IsFalse(second.Applied, "the first step with a non-finite loss is rejected");
        Assert.IsFalse(float.IsFinite(second.Loss));
        StringAssert.Contains(second.Rejection, "loss is");
        Assert.IsFalse(third.Applied);
        Assert.AreEqual(1L, run.State.Step, "rejected steps are not counted");
        var now = run.State.Download();
        for (int t = 0; t < now.Count; t++)
        {
            Assert.IsTrue(now[t].Values.All(float.IsFinite), $"{now[t].Name} stays finite");
            CollectionAssert.AreEqual(Bits(afterFirst[t].Values), Bits(now[t].Values), $"{now[t].Name} is the last good value");
        }
    }

    [TestMethod]
    public void Step_WhenOnlyAGradientOverflows_OptimizerGuardKeepsState()
    {
        // Row 2 of W is zero, so x[:, 2] = float.MaxValue adds nothing to the prediction (finite loss) but
        // W_grad[2, :] = Σ x·dpred overflows to infinity.
        float[] weight = [0.5f, -0.5f, 0.25f, 1f, 0f, 0f];
        using var run = Run.Open(Initial(ArtifactsId, weight));
        var before = run.State.Download();
        var x = new float[BatchSize * In];
        var y = new float[BatchSize * Out];
        for (int r = 0; r < BatchSize; r++)
        {
            x[r * In] = 1f;
            x[r * In + 2] = float.MaxValue;
            y[r * Out] = y[r * Out + 1] = 10f;
        }

        var result = run.Trainer.Step(ToBatch((x, y)), Settings);

        Assert.IsTrue(float.IsFinite(result.Loss), "the loss itself is finite");
        Assert.IsFalse(result.Applied);
        StringAssert.Contains(result.Rejection, "gradient is not finite");
        Assert.AreEqual(0L, run.State.Step);
        var after = run.State.Download();
        for (int t = 0; t < after.Count; t++)
            CollectionAssert.AreEqual(Bits(before[t].Values), Bits(after[t].Values), $"{after[t].Name} unchanged");
    }

    [TestMethod]
    public void Step_WhenBatchLacksAnInput_ThrowsNamingIt()
    {
        using var run = Run.Open(Initial(ArtifactsId));
        var (x, _) = Batch(Seed, 0);

        var error = Assert.ThrowsExactly<ArgumentException>(() =>
            run.Trainer.Step([BatchTensor.Float(X, [BatchSize, In], x)], Settings));

        StringAssert.Contains(error.Message, "missing y");
    }

    [TestMethod]
    public void Step_WhenAGroupHasNoSettings_ThrowsNamingTheGroup()
    {
        using var run = Run.Open(Initial(ArtifactsId));
        var partial = new Dictionary<string, GroupHyperparameters> { [ParameterGroups.Head] = new(0.1f, 0f) };

        var error = Assert.ThrowsExactly<ArgumentException>(() => run.Step(0, partial));

        StringAssert.Contains(error.Message, $"'{LoraNames.Group}'");
    }

    [TestMethod]
    public void Create_WhenOptimizerBuiltForOtherTrainables_ThrowsNamingMissingInputs()
    {
        using var device = DeviceSessions.Open(Cpu);
        using var state = TrainingState.Create(device, Trainables, Initial(ArtifactsId));
        byte[] otherOptimizer = OptimizerModelBuilder.Build([Weight]).ToBytesInline();

        var error = Assert.ThrowsExactly<BadInputException>(() => Trainer.Create(state, TrainingModel(), otherOptimizer));

        StringAssert.Contains(error.Message, $"'{Bias.Name}'");
    }

    [TestMethod]
    public void CreateState_WhenCheckpointLacksATrainable_ThrowsNamingIt()
    {
        using var device = DeviceSessions.Open(Cpu);
        var partial = new Checkpoint(ArtifactsId, 0, DataLoaderPosition.Start(1), [Initial(ArtifactsId).Find(Weight.Name)!]);

        var error = Assert.ThrowsExactly<ArgumentException>(() => TrainingState.Create(device, Trainables, partial));

        StringAssert.Contains(error.Message, $"no tensor '{Bias.Name}'");
    }

    [TestMethod]
    public void CreateState_WhenMomentsMissingAfterStepZero_ThrowsNamingTheMoment()
    {
        using var device = DeviceSessions.Open(Cpu);
        var initial = Initial(ArtifactsId);
        var later = new Checkpoint(ArtifactsId, 5, initial.Position, initial.Tensors);

        var error = Assert.ThrowsExactly<ArgumentException>(() => TrainingState.Create(device, Trainables, later));

        StringAssert.Contains(error.Message, ArtifactNames.FirstMoment(Weight.Name));
    }

    static int[] Bits(float[] values) => values.Select(BitConverter.SingleToInt32Bits).ToArray();

    static void AssertClose(double[] expected, float[] actual, double tolerance, string what)
    {
        Assert.HasCount(expected.Length, actual, what);
        for (int i = 0; i < expected.Length; i++)
            Assert.AreEqual(expected[i], actual[i], tolerance, $"{what}[{i}]");
    }
}
