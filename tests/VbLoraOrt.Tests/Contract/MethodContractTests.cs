using VbLoraOrt.Adapters;
using VbLoraOrt.Adapters.Methods.Lora;
using VbLoraOrt.Adapters.Methods.UniLora;
using VbLoraOrt.Adapters.Methods.VbLora;
using VbLoraOrt.Adapters.Methods.Vera;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Tests.Adapters;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Contract;

/// <summary>
/// The contract every registered adapter method must pass, checked by enumerating <see cref="AdapterMethods.All"/> on the
/// tiny MLP (8 → 16 → 8, both layers adapted): composed A and B equal an independent reference of the method's formula
/// (written here, not taken from the method); merged equals adapted; the training graph's gradient matches directional
/// finite differences; the stored form round-trips; the zero update leaves the output unchanged; the descriptor's
/// groups, options and saved options are consistent. A method registered without an entry in <see cref="Methods"/>
/// fails <see cref="EveryRegisteredMethod_HasAContractEntry"/> naming it.
/// </summary>
[TestClass]
public sealed class MethodContractTests
{
    /// <summary>
    /// A method's tiny configuration, its independent reference, its gradient check's value scale and step (VB-LoRA's
    /// is small enough that no top-k choice flips: the composition is piecewise smooth), and the scale of its
    /// trained-looking values on MiniLM's serving tests (<c>MiniLmServingFormTests</c>), chosen so that ΔW is of the
    /// weights' own size.
    /// </summary>
    public sealed record Entry(
        IReadOnlyDictionary<string, object?> TinyOptions,
        Func<IAdapterMethod, AdapterPlan, IReadOnlyDictionary<string, float[]>, IReadOnlyList<(float[] A, float[] B)>> Reference,
        float GradientValueScale,
        float GradientStep = 1e-2f,
        float MiniLmServingValueScale = 1f);

    /// <summary>One entry per registered method. Registering a method means adding its entry here too.</summary>
    public static readonly Dictionary<string, Entry> Methods = new()
    {
        [VbLoraDescriptor.Instance.Name] = new(
            new Dictionary<string, object?> { ["num-vectors"] = 6, ["vector-length"] = 4, ["rank"] = 2, ["topk"] = 2 },
            VbLoraReference, 0.5f, GradientStep: 1e-3f),
        [UniLoraDescriptor.Instance.Name] = new(
            new Dictionary<string, object?> { ["theta-length"] = 20, ["rank"] = 2 },
            UniLoraReference, 0.5f),
        // LoRA's trained-looking U(−2, 2) factors at rank 8, α 16 make MiniLM's ΔW entries of standard deviation about 7.5,
        // over a hundred times its weights: the attention softmax saturates and float rounding alone moved the serving
        // test's logits by 2.3e-2. Scaled by 0.1, ΔW is of the weights' own size (the difference is then 3.7e-6).
        [LoraDescriptor.Instance.Name] = new(
            new Dictionary<string, object?> { ["rank"] = 2, ["lora-alpha"] = 6.0 },
            LoraReference, 0.3f, MiniLmServingValueScale: 0.1f),
        [VeraDescriptor.Instance.Name] = new(
            new Dictionary<string, object?> { ["rank"] = 3, ["projection-seed"] = 5L },
            VeraReference, 0.5f),
    };

    static readonly LinearModule[] Targets = AdapterFixtures.MlpTargets(8, 16, 8);

    public static IEnumerable<object[]> Registered => AdapterMethods.Names.Select(n => new object[] { n });

    static IAdapterMethod Tiny(string name)
    {
        var descriptor = AdapterMethods.Find(name);
        return descriptor.Create(MethodOptionValues.For(descriptor, Methods[name].TinyOptions), 42);
    }

    [TestMethod]
    public void EveryRegisteredMethod_HasAContractEntry()
    {
        var missing = AdapterMethods.Names.Where(n => !Methods.ContainsKey(n)).ToList();
        Assert.IsEmpty(missing, $"registered without a contract entry (tiny options and an independent reference): {string.Join(", ", missing)}");
        Assert.AreEqual(AdapterMethods.Names.Count, AdapterMethods.Names.Distinct().Count(), "method names are unique");
    }

    [TestMethod]
    [DynamicData(nameof(Registered))]
    public void ComposedFactors_EqualIndependentReference_InGraphAndInCSharp(string name)
    {
        var method = Tiny(name);
        var (values, injected, fromOrt, fromCSharp) = AdapterFixtures.FactorsBothWays(method, Targets);
        var reference = Methods[name].Reference(method, injected.Plan, values);

        for (int t = 0; t < Targets.Length; t++)
        {
            Assert.IsGreaterThan(1e-3f, reference[t].A.Max(Math.Abs), $"{name} {Targets[t].Path}: A is ~0, the check would prove nothing");
            Assert.IsLessThanOrEqualTo(1e-6f, AdapterFixtures.MaxAbsDiff(reference[t].A, fromCSharp[t].A), $"{name} {Targets[t].Path} A (C#)");
            Assert.IsLessThanOrEqualTo(1e-6f, AdapterFixtures.MaxAbsDiff(reference[t].B, fromCSharp[t].B), $"{name} {Targets[t].Path} B (C#)");
            Assert.IsLessThanOrEqualTo(1e-6f, AdapterFixtures.MaxAbsDiff(reference[t].A, AdapterFixtures.Flat(fromOrt[injected.Factors[t].A])), $"{name} {Targets[t].Path} A (graph)");
            Assert.IsLessThanOrEqualTo(1e-6f, AdapterFixtures.MaxAbsDiff(reference[t].B, AdapterFixtures.Flat(fromOrt[injected.Factors[t].B])), $"{name} {Targets[t].Path} B (graph)");
        }
    }

    [TestMethod]
    [DynamicData(nameof(Registered))]
    public void Merge_EqualsAdaptedModel(string name) => AdapterFixtures.CheckMergeMatchesAdapter(Tiny(name), Targets);

    [TestMethod]
    [DynamicData(nameof(Registered))]
    public void TrainingGraph_MatchesDirectionalFiniteDifferences(string name) =>
        AdapterFixtures.CheckGradients(Tiny(name), Targets, Methods[name].GradientValueScale, Methods[name].GradientStep);

    [TestMethod]
    [DynamicData(nameof(Registered))]
    public void StoredForm_RoundTripsToTheSameFactors(string name)
    {
        var method = Tiny(name);
        var plan = method.Plan(Targets);
        var values = AdapterFixtures.TrainedLooking(plan, seed: 17);

        var stored = new StoredTensors("test.safetensors", method.Encode(plan, values));
        var decoded = method.Decode(plan, stored);
        stored.RequireAllTaken();

        var before = method.ComputeFactors(plan, values);
        var after = method.ComputeFactors(plan, decoded);
        for (int t = 0; t < Targets.Length; t++)
        {
            Assert.IsLessThanOrEqualTo(1e-6f, AdapterFixtures.MaxAbsDiff(before[t].A, after[t].A), $"{name} {Targets[t].Path} A");
            Assert.IsLessThanOrEqualTo(1e-6f, AdapterFixtures.MaxAbsDiff(before[t].B, after[t].B), $"{name} {Targets[t].Path} B");
        }
        if (method.StoredFormTrainable)
            foreach (var p in plan.Parameters)
                CollectionAssert.AreEqual(values[p.Name], decoded[p.Name], $"{name}: a trainable stored form keeps {p.Name} exactly");
    }

    [TestMethod]
    [DynamicData(nameof(Registered))]
    public void ZeroUpdate_LeavesTheModelOutputUnchanged(string name)
    {
        var method = Tiny(name);
        var plan = method.Plan(Targets);
        var trained = AdapterFixtures.TrainedLooking(plan, seed: 23);
        var zeroed = method.ZeroUpdate(plan, trained);
        var baseModel = TinyModels.TwoLayerMlp(8, 16, 8);
        var input = AdapterFixtures.Input(4, 8);

        var adapted = AdapterInjector.InjectWithInitializers(baseModel, method, Targets, trained).Model;
        var zero = AdapterInjector.InjectWithInitializers(baseModel, method, Targets, zeroed).Model;
        var expected = OrtRunner.Run(baseModel, input)["y"];

        Assert.IsGreaterThan(1e-4f, OrtRunner.MaxAbsDiff(expected, OrtRunner.Run(adapted, input)["y"]), $"{name}: trained values change the output");
        Assert.AreEqual(0f, OrtRunner.MaxAbsDiff(expected, OrtRunner.Run(zero, input)["y"]), $"{name}: the zero update adds exactly nothing");
        Assert.IsTrue(method.ComputeFactors(plan, zeroed).All(f => f.DeltaOutIn().All(v => v == 0)), $"{name}: ΔW = 0 for every target");
    }

    [TestMethod]
    [DynamicData(nameof(Registered))]
    public void Descriptor_GroupsOptionsAndSavedOptions_AreConsistent(string name)
    {
        var descriptor = AdapterMethods.Find(name);
        var method = Tiny(name);
        var plan = method.Plan(Targets);

        Assert.AreSame(descriptor, method.Descriptor);
        var groups = descriptor.Groups.Select(g => g.Name).ToHashSet();
        foreach (var p in plan.Parameters)
            Assert.Contains(p.Group, groups, $"{name}: parameter {p.Name} is in a group its descriptor declares");
        Assert.DoesNotContain(ParameterGroups.Head, groups, "the head's group is the task's, not a method's");
        Assert.IsTrue(descriptor.Groups.All(g => g.DefaultLearningRate > 0 && float.IsFinite(g.DefaultLearningRate)));
        Assert.IsNotNull(descriptor.CreateDefault(), $"{name}: every option has a usable default");
        foreach (string group in descriptor.Demo.LearningRates.Keys)
            Assert.Contains(group, groups, $"{name}: the demo preset sets a rate of a group the method has");

        var reloaded = descriptor.Load(method.SaveOptions());
        Assert.AreEqual(method.SaveOptions().GetRawText(), reloaded.SaveOptions().GetRawText(), "saved options load back to the same method");
        Assert.AreEqual(method.StoredParameterCount(plan), reloaded.StoredParameterCount(reloaded.Plan(Targets)));
    }

    // VB-LoRA (DESIGN.md §2.2): per sub-vector, softmax over the k largest logits (ties to the lower index) mixes those
    // bank rows; A = sub_A reshaped [r, in]; B[block·b + c, rank] = sub_B[block, rank, c].
    static IReadOnlyList<(float[] A, float[] B)> VbLoraReference(IAdapterMethod m, AdapterPlan plan, IReadOnlyDictionary<string, float[]> v)
    {
        var o = ((VbLoraMethod)m).Options;
        int h = o.NumVectors, b = o.VectorLength, r = o.Rank, k = o.TopK;
        float[] bank = v[VbLoraNames.VectorBank];
        double[] Mix(float[] logits, int row)
        {
            var top = Enumerable.Range(0, h).OrderByDescending(j => logits[row * h + j]).ThenBy(j => j).Take(k).ToArray();
            double max = top.Max(j => logits[row * h + j]);
            var w = top.Select(j => Math.Exp(logits[row * h + j] - max)).ToArray();
            double sum = w.Sum();
            var sub = new double[b];
            for (int i = 0; i < k; i++)
                for (int c = 0; c < b; c++)
                    sub[c] += w[i] / sum * bank[top[i] * b + c];
            return sub;
        }
        return plan.Targets.Select(t =>
        {
            float[] la = v[VbLoraNames.LogitsA(t.Path)], lb = v[VbLoraNames.LogitsB(t.Path)];
            var a = new float[r * t.InFeatures];
            for (int row = 0; row < r * (t.InFeatures / b); row++)
            {
                var sub = Mix(la, row);
                for (int c = 0; c < b; c++) a[row * b + c] = (float)sub[c];
            }
            var bm = new float[t.OutFeatures * r];
            for (int block = 0; block < t.OutFeatures / b; block++)
                for (int rank = 0; rank < r; rank++)
                {
                    var sub = Mix(lb, block * r + rank);
                    for (int c = 0; c < b; c++) bm[(block * b + c) * r + rank] = (float)sub[c];
                }
            return (a, bm);
        }).ToList();
    }

    // Uni-LoRA (DESIGN.md §2.3): entry i of the flat vector (targets in order, A then B, row-major) is θ[idx[i]] / √n,
    // n = how many entries share that column. Only the index array comes from the product (it is checked against
    // numpy's generator elsewhere); the scales are recounted here.
    static IReadOnlyList<(float[] A, float[] B)> UniLoraReference(IAdapterMethod m, AdapterPlan plan, IReadOnlyDictionary<string, float[]> v)
    {
        var o = ((UniLoraMethod)m).Options;
        long total = plan.Targets.Sum(t => (long)o.Rank * (t.InFeatures + t.OutFeatures));
        long[] index = UniLoraProjection.Create(total, o.ThetaLength, (ulong)o.ProjectionSeed).Index;
        var uses = index.GroupBy(j => j).ToDictionary(g => g.Key, g => g.Count());
        float[] theta = v[UniLoraNames.Theta];
        int offset = 0;
        float[] Take(int count)
        {
            var entries = Enumerable.Range(offset, count).Select(i => (float)(theta[index[i]] / Math.Sqrt(uses[index[i]]))).ToArray();
            offset += count;
            return entries;
        }
        return plan.Targets.Select(t => (Take(o.Rank * t.InFeatures), Take(t.OutFeatures * o.Rank))).ToList();
    }

    // LoRA (DESIGN.md §2.4): A as trained; B as trained times α/r.
    static IReadOnlyList<(float[] A, float[] B)> LoraReference(IAdapterMethod m, AdapterPlan plan, IReadOnlyDictionary<string, float[]> v)
    {
        var o = ((LoraMethod)m).Options;
        return plan.Targets.Select(t => (v[LoraNames.A(t.Path)], v[LoraNames.B(t.Path)].Select(x => (float)(x * o.Alpha / o.Rank)).ToArray())).ToList();
    }

    // VeRA (DESIGN.md §2): the shared pair sized to the largest input and output; per target A = λ_d[i]·vera_A[i, j] for
    // j < in, B = λ_b[o]·vera_B[o, k] for o < out. Only the shared pair comes from the product (its generator is checked
    // against torch's output elsewhere); slicing and scaling are redone here.
    static IReadOnlyList<(float[] A, float[] B)> VeraReference(IAdapterMethod m, AdapterPlan plan, IReadOnlyDictionary<string, float[]> v)
    {
        var o = ((VeraMethod)m).Options;
        int r = o.Rank, maxIn = plan.Targets.Max(t => t.InFeatures), maxOut = plan.Targets.Max(t => t.OutFeatures);
        var shared = VeraProjections.Generate(o.ProjectionSeed, r, maxIn, maxOut);
        return plan.Targets.Select(t =>
        {
            float[] d = v[VeraNames.LambdaD(t.Path)], b = v[VeraNames.LambdaB(t.Path)];
            var a = new float[r * t.InFeatures];
            for (int i = 0; i < r; i++)
                for (int j = 0; j < t.InFeatures; j++)
                    a[i * t.InFeatures + j] = d[i] * shared.A[i * maxIn + j];
            var bm = new float[t.OutFeatures * r];
            for (int row = 0; row < t.OutFeatures; row++)
                for (int k = 0; k < r; k++)
                    bm[row * r + k] = b[row] * shared.B[row * r + k];
            return (a, bm);
        }).ToList();
    }
}
