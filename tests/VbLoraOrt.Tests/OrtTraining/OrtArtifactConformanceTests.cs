using System.Diagnostics;
using Google.FlatBuffers;
using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Files;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Adapters.Targeting;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.GraphBuilder.Artifacts;
using VbLoraOrt.GraphBuilder.OrtTraining;
using VbLoraOrt.GraphBuilder.Tasks;
using VbLoraOrt.Onnx;
using VbLoraOrt.OrtFormats.Checkpoints;
using VbLoraOrt.Runtime.Runs;
using VbLoraOrt.Runtime.Sessions;
using VbLoraOrt.Runtime.Training;
using VbLoraOrt.Tests.Contract;

namespace VbLoraOrt.Tests.OrtTraining;

/// <summary>
/// <c>prepare --format ort</c> against ONNX Runtime's own training runtime (onnxruntime-web 1.19.2 in Node.js): for every
/// registered method, artifacts of a one-layer BERT-shaped encoder (<see cref="TinyTransformer"/>) are trained two steps
/// by ONNX Runtime from <c>ort/</c> and two steps by the project's runner (<see cref="Trainer"/>) from the project's own
/// files, on the same batches with the same AdamW settings, and every loss and parameter is compared. ONNX Runtime's
/// web build always runs its optimizer at 0.001 (see <see cref="OrtWebTrainingTests"/>), so the runner does too.
/// </summary>
[TestClass]
public sealed class OrtArtifactConformanceTests
{
    const double Tolerance = 1e-5;
    // Weight decay is large so that it shows at 1e-5: each step scales p by 1 − lr·wd = 1 − 5e-4.
    const float LearningRate = 0.001f, WeightDecay = 0.5f;
    const int Steps = 2;
    static string _dir = null!;
    static HarnessResult _result = null!;
    static readonly Dictionary<string, OurRun> Ours = [];
    static long _harnessMilliseconds;

    public TestContext TestContext { get; set; } = null!;

    public static IEnumerable<object[]> Methods => AdapterMethods.Names.Select(n => new object[] { n });

    [ClassInitialize]
    public static void TrainBoth(TestContext context)
    {
        _dir = Directory.CreateTempSubdirectory("vblora-ort-artifacts").FullName;
        string model = Path.Combine(_dir, "tiny_encoder.onnx");
        TinyTransformer.Write(model);
        var runs = new List<HarnessRun>();
        foreach (string name in AdapterMethods.Names)
        {
            string artifacts = Path.Combine(_dir, name);
            var descriptor = AdapterMethods.Find(name);
            var manifest = ArtifactBuilder.Prepare(new PrepareOptions
            {
                ModelPath = model,
                OutputDirectory = artifacts,
                Method = descriptor.Create(MethodOptionValues.For(descriptor, MethodContractTests.Methods[name].TinyOptions), 42),
                Targets = TargetSpec.FromNames(["query", "value"]),
                Task = new TaskOptions { NumLabels = 2 },
                MaxLength = 8,
                OrtTraining = new OrtArtifactOptions { LearningRate = LearningRate, WeightDecay = WeightDecay },
            });
            Ours[name] = OurRun.Train(artifacts, Steps, TinyBatch, LearningRate, WeightDecay);
            string ort = Path.Combine(artifacts, OrtTrainingNames.Folder);
            runs.Add(new HarnessRun(name, Path.Combine(ort, OrtTrainingNames.TrainingModel), Path.Combine(ort, OrtTrainingNames.EvalModel),
                Path.Combine(ort, OrtTrainingNames.OptimizerModel), Path.Combine(ort, OrtTrainingNames.CheckpointFile),
                Enumerable.Range(0, Steps).Select(s => new HarnessStep(OurRun.Feeds(TinyBatch(manifest, s)))).ToList(),
                EvalFeeds: OurRun.Feeds(TinyBatch(manifest, Steps))));
        }
        var clock = Stopwatch.StartNew();
        _result = OrtWebHarness.Run(new HarnessJob(runs), _dir);
        _harnessMilliseconds = clock.ElapsedMilliseconds;
        context.WriteLine($"onnxruntime-web {_result.OrtVersion}: {runs.Count} methods in {_harnessMilliseconds} ms");
    }

    [ClassCleanup]
    public static void DeleteArtifacts()
    {
        if (_dir is not null) Directory.Delete(_dir, recursive: true);
    }

    static IReadOnlyList<IntInput> TinyBatch(ArtifactManifest manifest, int index)
    {
        var (ids, mask, labels) = TinyTransformer.Batch(index);
        long[] tokens = [TinyTransformer.BatchSize, TinyTransformer.Sequence];
        return [new("input_ids", tokens, ids), new("attention_mask", tokens, mask), new(manifest.LabelInputs.Single(), [TinyTransformer.BatchSize], labels)];
    }

    [TestMethod]
    [DynamicData(nameof(Methods))]
    public void RunTrainStep_Loss_EqualsOurRunner(string method)
    {
        var (ort, ours) = (Succeeded(method), Ours[method]);
        Assert.HasCount(Steps, ort.Steps);
        for (int step = 0; step < Steps; step++)
            Assert.AreEqual(ours.Losses[step], ort.Steps[step].Loss, Tolerance, $"{method}: loss of step {step + 1}");
        double gap = ort.Steps.Zip(ours.Losses, (a, b) => Math.Abs(a.Loss - b)).Max();
        TestContext.WriteLine($"{method}: losses ORT [{string.Join(", ", ort.Steps.Select(s => s.Loss.ToString("R")))}] ours " +
                              $"[{string.Join(", ", ours.Losses.Select(l => l.ToString("R")))}], max |Δloss| {gap:E2}; harness {_harnessMilliseconds} ms");
    }

    [TestMethod]
    [DynamicData(nameof(Methods))]
    public void RunOptimizerStep_Parameters_EqualOurRunner(string method)
    {
        var (ort, ours) = (Succeeded(method), Ours[method]);
        var initial = Checkpoint.Load(Path.Combine(ours.Artifacts, ArtifactNames.InitialCheckpoint), ours.Manifest.Identity);
        AssertClose(OurRun.Contiguous(ours.Manifest, initial.Tensors), ort.InitialParameters, $"{method}: initial parameters");
        double maxGap = 0;
        for (int step = 0; step < Steps; step++)
        {
            AssertClose(ours.Parameters[step], ort.Steps[step].Parameters, $"{method}: parameters after step {step + 1}");
            maxGap = Math.Max(maxGap, ours.Parameters[step].Zip(ort.Steps[step].Parameters, (a, b) => (double)Math.Abs(a - b)).Max());
        }
        double moved = ours.Parameters[^1].Zip(ort.InitialParameters, (a, b) => (double)Math.Abs(a - b)).Max();
        Assert.IsGreaterThan(100 * Tolerance, moved, $"{method}: the parameters hardly moved, so the comparison would not tell the optimizers apart");
        TestContext.WriteLine($"{method}: {ort.Steps[0].Parameters.Length} parameters, max |ORT − ours| {maxGap:E2} over {Steps} steps (moved up to {moved:E2})");
    }

    [TestMethod]
    [DynamicData(nameof(Methods))]
    public void CreateSession_SortsTheContractsInputsAndParameters(string method)
    {
        var (ort, manifest) = (Succeeded(method), Ours[method].Manifest);
        CollectionAssert.AreEqual(manifest.DataInputs.Concat(manifest.LabelInputs).ToArray(), ort.TrainingInputNames, "user inputs of the training model");
        CollectionAssert.AreEqual(new[] { ArtifactNames.Loss }, ort.TrainingOutputNames);
        CollectionAssert.AreEqual(manifest.DataInputs.Concat(manifest.LabelInputs).ToArray(), ort.EvalInputNames, "user inputs of the eval model");
        Assert.AreEqual(ArtifactNames.Loss, ort.EvalOutputNames[0]);
        int trainable = (int)manifest.Trainables.Sum(t => t.ElementCount);
        Assert.AreEqual(new ParametersSize(trainable, trainable), ort.ParametersSize, "every parameter input is a trainable; frozen weights are initializers");
        Assert.IsTrue(ort.EvalLoss is { } loss && double.IsFinite(loss), "eval step after training");
    }

    /// <summary>
    /// onnxruntime-web 1.19.2 cannot export a checkpoint, so ONNX Runtime's trained parameters are written with
    /// <see cref="OrtCheckpointWriter"/> (group0 at its step with the runner's moments): exporting that checkpoint must
    /// give the adapter file of the runner's own two steps.
    /// </summary>
    [TestMethod]
    [DynamicData(nameof(Methods))]
    public void ExportOfOrtCheckpoint_EqualsTheAdapterOfOurRun(string method)
    {
        var (ort, ours) = (Succeeded(method), Ours[method]);
        string checkpoint = Path.Combine(_dir, $"{method}.after-ort-steps.ckpt");
        OrtCheckpointWriter.Write(WithParameters(ours, ort.Steps[^1].Parameters), checkpoint);
        string fromOrt = Path.Combine(_dir, $"{method}.ort.safetensors"), fromOurs = Path.Combine(_dir, $"{method}.ours.safetensors");
        OrtCheckpointRuns.Open(ours.Artifacts, checkpoint).ExportAdapter(fromOrt);
        AdapterFile.Save(fromOurs, ours.Manifest, ours.Manifest.Trainables.ToDictionary(t => t.Name, t => ours.Final.Find(t.Name)!.Values));
        var (a, b) = (SafetensorsFile.Read(fromOrt), SafetensorsFile.Read(fromOurs));
        CollectionAssert.AreEqual(b.Tensors.Select(t => t.Name).ToArray(), a.Tensors.Select(t => t.Name).ToArray());
        foreach (var (x, y) in a.Tensors.Zip(b.Tensors))
        {
            CollectionAssert.AreEqual(y.Shape, x.Shape, x.Name);
            Assert.AreEqual(y.DType, x.DType, x.Name);
            if (x.DType == "F32")
                AssertClose(y.Floats(), x.Floats(), $"{method}: adapter tensor {x.Name}");
            else
                CollectionAssert.AreEqual(y.Data, x.Data, $"{method}: adapter tensor {x.Name}");
        }
        CollectionAssert.AreEquivalent(b.Metadata.Keys.ToArray(), a.Metadata.Keys.ToArray());
    }

    [TestMethod]
    public void LoadOrtCheckpoint_KeepsStepAndMomentsAndThePreparedOneIsTheInitialState()
    {
        var ours = Ours[AdapterMethods.Names[0]];
        var folder = ArtifactFolder.Open(ours.Artifacts);
        string path = Path.Combine(_dir, "round-trip.ckpt");
        OrtCheckpointWriter.Write(OrtCheckpointConversion.ToOrt(ours.Manifest, ours.Final, LearningRate), path);
        var back = OrtCheckpointRuns.Load(path, folder);
        Assert.AreEqual((long)Steps, back.Step);
        foreach (var t in ours.Final.Tensors)
            CollectionAssert.AreEqual(t.Values, back.Find(t.Name)!.Values, t.Name);

        var prepared = OrtCheckpointReader.Read(Path.Combine(ours.Artifacts, OrtTrainingNames.Folder, OrtTrainingNames.CheckpointFile));
        var initial = Checkpoint.Load(folder.InitialCheckpoint, folder.Identity);
        Assert.IsEmpty(prepared.FrozenParameters);
        Assert.AreEqual(0L, prepared.DefaultGroup!.Step);
        Assert.AreEqual(LearningRate, prepared.DefaultGroup.InitialLearningRate);
        Assert.IsTrue(prepared.DefaultGroup.Moments.All(m => m.FirstMoment.All(v => v == 0) && m.SecondMoment.All(v => v == 0)));
        CollectionAssert.AreEqual(ours.Manifest.Trainables.Select(t => t.Name).ToArray(), prepared.TrainableParameters.Select(p => p.Name).ToArray());
        foreach (var p in prepared.TrainableParameters)
            CollectionAssert.AreEqual(initial.Find(p.Name)!.Values, p.Values, p.Name);
        Assert.AreEqual(folder.Identity, prepared.Properties.Strings[OrtTrainingNames.ArtifactsIdProperty]);
    }

    [TestMethod]
    public void LoadOrtCheckpoint_NotOdtc_IsRefusedNamingTheIdentifier()
    {
        string path = Path.Combine(_dir, "not-odtc.ckpt");
        File.WriteAllBytes(path, [16, 0, 0, 0, (byte)'A', (byte)'B', (byte)'C', (byte)'D', 0, 0, 0, 0, 0, 0, 0, 0]);
        var e = Assert.ThrowsExactly<OrtCheckpointException>(() => OrtCheckpointRuns.Load(path, ArtifactFolder.Open(Ours[AdapterMethods.Names[0]].Artifacts)));
        StringAssert.Contains(e.Message, "\"ABCD\"");
        StringAssert.Contains(e.Message, "ODTC");
    }

    [TestMethod]
    public void LoadOrtCheckpoint_OfVersion1_IsRefusedNamingTheVersion()
    {
        var manifest = Ours[AdapterMethods.Names[0]].Manifest;
        var b = new FlatBufferBuilder(1024);
        int[] trainable = manifest.Trainables.Select(t => RawCheckpoint.Tensor(b, t.Name, t.Shape, new float[t.ElementCount])).ToArray();
        string path = Path.Combine(_dir, "version-1.ckpt");
        File.WriteAllBytes(path, RawCheckpoint.Finish(b, 1, RawCheckpoint.ModuleState(b, trainable, [])));
        var e = Assert.ThrowsExactly<OrtCheckpointException>(() => OrtCheckpointRuns.Load(path, ArtifactFolder.Open(Ours[AdapterMethods.Names[0]].Artifacts)));
        StringAssert.Contains(e.Message, "version 1");
    }

    [TestMethod]
    public void LoadOrtCheckpoint_OfOtherArtifacts_IsRefusedNamingTheTensorOrIdentity()
    {
        var (first, second) = (Ours[AdapterMethods.Names[0]], Ours[AdapterMethods.Names[1]]);
        var folder = ArtifactFolder.Open(first.Artifacts);
        // Another method's checkpoint: its property bag names other artifacts.
        string other = Path.Combine(_dir, "other-artifacts.ckpt");
        OrtCheckpointWriter.Write(OrtCheckpointConversion.ToOrt(second.Manifest, second.Final, LearningRate), other);
        StringAssert.Contains(Assert.ThrowsExactly<BadInputException>(() => OrtCheckpointRuns.Load(other, folder)).Message, OrtTrainingNames.ArtifactsIdProperty);
        // Without the property: one tensor of another shape, one missing, one extra.
        var tensors = first.Manifest.Trainables.Select(t => new CheckpointTensor(t.Name, t.Shape, new float[t.ElementCount])).ToList();
        var target = tensors[0];
        void Refused(List<CheckpointTensor> list, string expected)
        {
            string path = Path.Combine(_dir, "mismatch.ckpt");
            OrtCheckpointWriter.Write(new OrtCheckpoint(list, [], [], OrtPropertyBag.Empty), path);
            StringAssert.Contains(Assert.ThrowsExactly<BadInputException>(() => OrtCheckpointRuns.Load(path, folder)).Message, expected);
        }
        Refused([new CheckpointTensor(target.Name, [target.Values.Length + 1], new float[target.Values.Length + 1]), .. tensors.Skip(1)], $"'{target.Name}' has dims");
        Refused([.. tensors.Skip(1)], $"no trainable tensor '{target.Name}'");
        Refused([.. tensors, new CheckpointTensor("not_a_trainable", [1], [0f])], "'not_a_trainable'");
    }

    /// <summary>ONNX Runtime's checkpoint of <paramref name="ours"/>'s final state with the trainables set from ONNX Runtime's contiguous buffer.</summary>
    static OrtCheckpoint WithParameters(OurRun ours, float[] contiguous)
    {
        var values = new List<NamedTensor>();
        int offset = 0;
        foreach (var t in ours.Manifest.Trainables)
        {
            values.Add(new NamedTensor(t.Name, t.Shape, contiguous.AsSpan(offset, (int)t.ElementCount).ToArray()));
            offset += (int)t.ElementCount;
        }
        Assert.AreEqual(contiguous.Length, offset, "ONNX Runtime's buffer holds exactly the trainables");
        var moments = ours.Final.Tensors.Where(t => ours.Manifest.Trainables.All(x => x.Name != t.Name));
        var state = new Checkpoint(ours.Final.ArtifactsId, ours.Final.Step, ours.Final.Position, [.. values, .. moments]);
        return OrtCheckpointConversion.ToOrt(ours.Manifest, state, LearningRate);
    }

    static RunResult Succeeded(string name)
    {
        var run = _result.Runs[name];
        Assert.IsNull(run.Error, $"run '{name}': ONNX Runtime failed: {run.Error}");
        return run;
    }

    static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.HasCount(expected.Length, actual, $"{what}: element count");
        for (int i = 0; i < expected.Length; i++)
            Assert.AreEqual(expected[i], actual[i], Tolerance, $"{what}: element {i}");
    }
}
