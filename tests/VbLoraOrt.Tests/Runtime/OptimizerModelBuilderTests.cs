using Microsoft.ML.OnnxRuntime;
using VbLoraOrt.Adapters.Methods.VbLora;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.GraphBuilder.Artifacts.Optimizer;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Runtime;

[TestClass]
public sealed class OptimizerModelBuilderTests
{
    static readonly TrainableTensor Bank = new("bank", [3, 4], VbLoraNames.BankGroup);
    static readonly TrainableTensor Head = new("head.weight", [5], ParameterGroups.Head);
    static readonly Dictionary<string, (float Lr, float Wd)> Hyper = new()
    {
        [VbLoraNames.BankGroup] = (0.01f, 0.1f),
        [ParameterGroups.Head] = (0.003f, 0.0f),
    };

    [TestMethod]
    public void Build_WhenRunForSeveralSteps_MatchesIndependentAdamW()
    {
        var options = new AdamWOptions { Beta1 = 0.9f, Beta2 = 0.99f, Epsilon = 1e-8f };
        OnnxModel model = OptimizerModelBuilder.Build([Bank, Head], options);
        using var session = new InferenceSession(model.ToBytesInline());
        var onnx = InitialState([Bank, Head]);
        var reference = new Dictionary<string, ReferenceAdamW>
        {
            [Bank.Name] = new(onnx[Bank.Name], options.Beta1, options.Beta2, options.Epsilon),
            [Head.Name] = new(onnx[Head.Name], options.Beta1, options.Beta2, options.Epsilon),
        };

        for (int step = 1; step <= 6; step++)
        {
            var grads = new Dictionary<string, float[]>
            {
                [Bank.Name] = TinyModels.Random(12, 100 + step, 0.5f),
                [Head.Name] = TinyModels.Random(5, 200 + step, 2f),
            };
            var outputs = RunStep(session, [Bank, Head], onnx, grads, step);
            Assert.IsTrue(outputs.AllFinite);
            double expectedNorm = Math.Sqrt(grads.Values.SelectMany(g => g).Sum(g => (double)g * g));
            Assert.AreEqual(expectedNorm, outputs.GradNorm, 1e-5 * expectedNorm, "grad_norm");
            foreach (var t in new[] { Bank, Head })
            {
                var (lr, wd) = Hyper[t.Group];
                reference[t.Name].Step(grads[t.Name], lr, wd);
                onnx = outputs.State;
                // Float32 graph vs float64 reference over ≤ 6 steps of size ≤ lr: 1e-5 absolute on p, relative on m, v.
                AssertClose(reference[t.Name].P, onnx[t.Name], 1e-5, $"{t.Name} after step {step}");
                AssertClose(reference[t.Name].M, onnx[ArtifactNames.FirstMoment(t.Name)], 1e-5, $"{t.Name} m after step {step}");
                AssertClose(reference[t.Name].V, onnx[ArtifactNames.SecondMoment(t.Name)], 1e-5 * reference[t.Name].V.Max(), $"{t.Name} v after step {step}");
            }
        }
    }

    [TestMethod]
    [DataRow(float.NaN)]
    [DataRow(float.PositiveInfinity)]
    [DataRow(float.NegativeInfinity)]
    public void Build_WhenAGradientIsNotFinite_ReturnsStateUnchangedAndFlagsIt(float bad)
    {
        OnnxModel model = OptimizerModelBuilder.Build([Bank, Head]);
        using var session = new InferenceSession(model.ToBytesInline());
        var state = InitialState([Bank, Head]);
        var grads = new Dictionary<string, float[]>
        {
            [Bank.Name] = TinyModels.Random(12, 1),
            [Head.Name] = TinyModels.Random(5, 2),
        };
        grads[Head.Name][3] = bad;

        var outputs = RunStep(session, [Bank, Head], state, grads, step: 1);

        Assert.IsFalse(outputs.AllFinite, "all_finite must be false");
        foreach (var (name, values) in state)
            CollectionAssert.AreEqual(values, outputs.State[name], $"{name} must keep its last good value");
    }

    [TestMethod]
    public void Build_WhenGradientsAreHugeButFinite_StillApplies()
    {
        OnnxModel model = OptimizerModelBuilder.Build([Head]);
        using var session = new InferenceSession(model.ToBytesInline());
        var state = InitialState([Head]);
        var grads = new Dictionary<string, float[]> { [Head.Name] = [3e38f, -3e38f, 1f, 2f, 3f] }; // Σg² overflows float

        var outputs = RunStep(session, [Head], state, grads, step: 1);

        Assert.IsTrue(outputs.AllFinite, "finite gradients whose squared norm overflows are still finite");
        Assert.IsTrue(outputs.State[Head.Name].All(float.IsFinite));
        CollectionAssert.AreNotEqual(state[Head.Name], outputs.State[Head.Name]);
    }

    [TestMethod]
    public void Build_WhenATrainableNameCollidesWithAMoment_ThrowsNamingBoth()
    {
        var w = new TrainableTensor("w", [2], ParameterGroups.Head);
        var wM = new TrainableTensor("w_m", [2], ParameterGroups.Head);

        var error = Assert.ThrowsExactly<ArgumentException>(() => OptimizerModelBuilder.Build([w, wM]));

        StringAssert.Contains(error.Message, "'w_m'");
        StringAssert.Contains(error.Message, "trainable 'w'");
    }

    [TestMethod]
    public void Build_WhenBeta1IsOne_ThrowsNamingTheValue()
    {
        var error = Assert.ThrowsExactly<ArgumentOutOfRangeException>(
            () => OptimizerModelBuilder.Build([Head], new AdamWOptions { Beta1 = 1f }));
        StringAssert.Contains(error.Message, "beta1 1 must be in [0, 1)");
    }

    static Dictionary<string, float[]> InitialState(TrainableTensor[] trainables)
    {
        var state = new Dictionary<string, float[]>();
        foreach (var t in trainables)
        {
            int n = (int)t.ElementCount;
            state[t.Name] = TinyModels.Random(n, t.Name.Length, 1f);
            state[ArtifactNames.FirstMoment(t.Name)] = new float[n];
            state[ArtifactNames.SecondMoment(t.Name)] = new float[n];
        }
        return state;
    }

    sealed record StepOutputs(Dictionary<string, float[]> State, float GradNorm, bool AllFinite);

    static StepOutputs RunStep(InferenceSession session, TrainableTensor[] trainables,
        Dictionary<string, float[]> state, Dictionary<string, float[]> grads, int step)
    {
        var inputs = new Dictionary<string, OrtValue>();
        try
        {
            foreach (var group in trainables.Select(t => t.Group).Distinct())
            {
                inputs[ArtifactNames.LearningRate(group)] = OrtValue.CreateTensorValueFromMemory(new[] { Hyper[group].Lr }, []);
                inputs[ArtifactNames.WeightDecay(group)] = OrtValue.CreateTensorValueFromMemory(new[] { Hyper[group].Wd }, []);
            }
            inputs[ArtifactNames.Step] = OrtValue.CreateTensorValueFromMemory(new[] { (float)step }, []);
            foreach (var t in trainables)
            {
                inputs[t.Name] = OrtValue.CreateTensorValueFromMemory((float[])state[t.Name].Clone(), t.Shape);
                inputs[ArtifactNames.Grad(t.Name)] = OrtValue.CreateTensorValueFromMemory((float[])grads[t.Name].Clone(), t.Shape);
                inputs[ArtifactNames.FirstMoment(t.Name)] = OrtValue.CreateTensorValueFromMemory((float[])state[ArtifactNames.FirstMoment(t.Name)].Clone(), t.Shape);
                inputs[ArtifactNames.SecondMoment(t.Name)] = OrtValue.CreateTensorValueFromMemory((float[])state[ArtifactNames.SecondMoment(t.Name)].Clone(), t.Shape);
            }
            string[] stateNames = [.. state.Keys];
            string[] outputNames = [.. stateNames.Select(ArtifactNames.Updated), ArtifactNames.GradNorm, ArtifactNames.AllFinite];
            using var runOptions = new RunOptions();
            using var results = session.Run(runOptions, inputs.Keys.ToArray(), inputs.Values.ToArray(), outputNames);
            var next = new Dictionary<string, float[]>();
            for (int i = 0; i < stateNames.Length; i++)
                next[stateNames[i]] = results[i].GetTensorDataAsSpan<float>().ToArray();
            return new StepOutputs(next, results[^2].GetTensorDataAsSpan<float>()[0], results[^1].GetTensorDataAsSpan<bool>()[0]);
        }
        finally
        {
            foreach (var value in inputs.Values) value.Dispose();
        }
    }

    static void AssertClose(double[] expected, float[] actual, double tolerance, string what)
    {
        Assert.HasCount(expected.Length, actual, what);
        for (int i = 0; i < expected.Length; i++)
            Assert.AreEqual(expected[i], actual[i], tolerance, $"{what}[{i}]");
    }
}
