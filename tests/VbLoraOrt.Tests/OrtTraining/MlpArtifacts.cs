using Onnx;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.Onnx;
using VbLoraOrt.OrtFormats.Checkpoints;
using VbLoraOrt.Tests.Support;
using static VbLoraOrt.GraphBuilder.OrtTraining.OrtTrainingNames;

namespace VbLoraOrt.Tests.OrtTraining;

/// <summary>
/// A two-layer MLP with ONNX Runtime's training-artifact conventions, built here with the project's ONNX types:
/// <code>
/// h    = tanh(x·W1 + b1)          x [B,3], W1 [3,4] frozen (a graph input, kept in the checkpoint's frozen_params)
/// pred = h·W2 + b2                W2 [4,2], b2 [2], b1 [4] trainable
/// loss = mean((pred − y)²)
/// </code>
/// The backward pass is written by hand in standard ops:
/// dpred = 2(pred − y)/N, W2_grad = hᵀ·dpred, b2_grad = Σ_batch dpred, dz = (dpred·W2ᵀ) ⊙ (1 − h²), b1_grad = Σ_batch dz.
/// Each gradient goes through a com.microsoft InPlaceAccumulatorV2 into its accumulation buffer.
/// </summary>
static class MlpArtifacts
{
    public const int In = 3, Hidden = 4, Out = 2, BatchSize = 8;
    public const string X = "x", Y = "y", Loss = "loss";
    public const string W1 = "layer1.weight", B1 = "layer1.bias", W2 = "layer2.weight", B2 = "layer2.bias";

    /// <summary>All parameters in the training model's input order, which is ONNX Runtime's contiguous-buffer order.</summary>
    public static readonly (string Name, long[] Dims, bool Trainable)[] Parameters =
        [(W1, [In, Hidden], false), (B1, [Hidden], true), (W2, [Hidden, Out], true), (B2, [Out], true)];

    public static IEnumerable<(string Name, long[] Dims, bool Trainable)> Trainables => Parameters.Where(p => p.Trainable);

    static readonly int FloatType = (int)TensorProto.Types.DataType.Float, BoolType = (int)TensorProto.Types.DataType.Bool;

    /// <summary>Writes training_model.onnx, eval_model.onnx and optimizer_model.onnx into <paramref name="dir"/>.</summary>
    public static (string Train, string Eval, string Optimizer) WriteModels(string dir, AdamWAttributes adamW)
    {
        var paths = (Path.Combine(dir, "training_model.onnx"), Path.Combine(dir, "eval_model.onnx"), Path.Combine(dir, "optimizer_model.onnx"));
        File.WriteAllBytes(paths.Item1, TrainingModel());
        File.WriteAllBytes(paths.Item2, EvalModel());
        File.WriteAllBytes(paths.Item3, OptimizerModel(adamW));
        return paths;
    }

    public static byte[] TrainingModel()
    {
        var m = NewModel();
        var g = m.Graph;
        AddForwardAndLoss(g);
        g.Initializer.Add(Tensors.Float("two", [], [2f]));
        g.Initializer.Add(Tensors.Float("one", [], [1f]));
        g.Initializer.Add(Tensors.Int64Vector("axis0", 0));
        g.Node.Add(TinyModels.Node("Size", ["d"], ["n_int"]));
        g.Node.Add(TinyModels.Node("Cast", ["n_int"], ["n"], null, Attr.Int("to", FloatType)));
        g.Node.Add(TinyModels.Node("Div", ["two", "n"], ["scale"]));
        g.Node.Add(TinyModels.Node("Mul", ["d", "scale"], ["dpred"]));
        g.Node.Add(TinyModels.Node("Transpose", ["h"], ["h_t"], null, Attr.Ints("perm", 1, 0)));
        g.Node.Add(TinyModels.Node("MatMul", ["h_t", "dpred"], [Grad(W2)]));
        g.Node.Add(TinyModels.Node("ReduceSum", ["dpred", "axis0"], [Grad(B2)], null, Attr.Int("keepdims", 0)));
        g.Node.Add(TinyModels.Node("Transpose", [W2], ["w2_t"], null, Attr.Ints("perm", 1, 0)));
        g.Node.Add(TinyModels.Node("MatMul", ["dpred", "w2_t"], ["dh"]));
        g.Node.Add(TinyModels.Node("Mul", ["h", "h"], ["h_sq"]));
        g.Node.Add(TinyModels.Node("Sub", ["one", "h_sq"], ["tanh_slope"]));
        g.Node.Add(TinyModels.Node("Mul", ["dh", "tanh_slope"], ["dz"]));
        g.Node.Add(TinyModels.Node("ReduceSum", ["dz", "axis0"], [Grad(B1)], null, Attr.Int("keepdims", 0)));

        foreach (var (name, dims, _) in Trainables)
            g.Input.Add(Float(AccumulationBuffer(name), dims));
        g.Input.Add(TinyModels.Value(LazyResetGrad, BoolType, 1));
        foreach (var (name, _, _) in Trainables)
        {
            var accumulate = TinyModels.Node("InPlaceAccumulatorV2",
                [AccumulationBuffer(name), Grad(name), LazyResetGrad], [AccumulationOut(name)], $"accumulate_{name}");
            accumulate.Domain = MicrosoftDomain;
            g.Node.Add(accumulate);
            g.Output.Add(TinyModels.Value(AccumulationOut(name), BoolType, 1));
        }
        return OnnxModel.FromProto(m).ToBytesInline();
    }

    public static byte[] EvalModel()
    {
        var m = NewModel();
        AddForwardAndLoss(m.Graph);
        return OnnxModel.FromProto(m).ToBytesInline();
    }

    /// <summary>Inputs x, y and every parameter; the forward pass; <c>loss</c> as the first output.</summary>
    static void AddForwardAndLoss(GraphProto g)
    {
        g.Input.Add(TinyModels.FloatValue(X, "batch", In));
        g.Input.Add(TinyModels.FloatValue(Y, "batch", Out));
        foreach (var (name, dims, _) in Parameters)
            g.Input.Add(Float(name, dims));
        g.Output.Add(TinyModels.FloatValue(Loss));
        g.Node.Add(TinyModels.Node("MatMul", [X, W1], ["z1"]));
        g.Node.Add(TinyModels.Node("Add", ["z1", B1], ["a1"]));
        g.Node.Add(TinyModels.Node("Tanh", ["a1"], ["h"]));
        g.Node.Add(TinyModels.Node("MatMul", ["h", W2], ["z2"]));
        g.Node.Add(TinyModels.Node("Add", ["z2", B2], ["pred"]));
        g.Node.Add(TinyModels.Node("Sub", ["pred", Y], ["d"]));
        g.Node.Add(TinyModels.Node("Mul", ["d", "d"], ["d_sq"]));
        g.Node.Add(TinyModels.Node("ReduceMean", ["d_sq"], [Loss], null, Attr.Int("keepdims", 0)));
    }

    /// <summary>One com.microsoft AdamWOptimizer over sequences of all trainable parameters.</summary>
    public static byte[] OptimizerModel(AdamWAttributes adamW)
    {
        var m = NewModel();
        var g = m.Graph;
        g.Input.Add(TinyModels.FloatValue(AdamWInputs[0], 1));
        g.Input.Add(TinyModels.Value(AdamWInputs[1], (int)TensorProto.Types.DataType.Int64, 1));
        foreach (string sequence in AdamWInputs.Skip(2))
            g.Input.Add(FloatSequence(sequence));
        g.Output.Add(TinyModels.Value(UpdatedFlag, BoolType, 1));
        var node = TinyModels.Node("AdamWOptimizer", [.. AdamWInputs], [UpdatedFlag], "adamw", adamW.ToAttributes());
        node.Domain = MicrosoftDomain;
        g.Node.Add(node);
        return OnnxModel.FromProto(m).ToBytesInline();
    }

    static ModelProto NewModel()
    {
        var m = TinyModels.NewModel(17);
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = MicrosoftDomain, Version = 1 });
        return m;
    }

    static ValueInfoProto Float(string name, long[] dims) => TinyModels.FloatValue(name, dims.Cast<object>().ToArray());

    static ValueInfoProto FloatSequence(string name) => new()
    {
        Name = name,
        Type = new TypeProto
        {
            SequenceType = new TypeProto.Types.Sequence
            {
                ElemType = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = FloatType } },
            },
        },
    };

    /// <summary>Initial parameter values (fixed seeds), by name.</summary>
    public static Dictionary<string, float[]> InitialValues() => Parameters
        .Select((p, i) => (p.Name, Values: TinyModels.Random((int)p.Dims.Aggregate(1L, (a, d) => a * d), 40 + i, 0.5f)))
        .ToDictionary(p => p.Name, p => p.Values);

    /// <summary>A checkpoint holding <paramref name="values"/> (trainable and frozen) and <paramref name="group0"/>.</summary>
    public static OrtCheckpoint Checkpoint(Dictionary<string, float[]> values, OrtOptimizerGroup? group0, OrtPropertyBag? properties = null) => new(
        Trainables.Select(p => new CheckpointTensor(p.Name, p.Dims, values[p.Name])).ToList(),
        Parameters.Where(p => !p.Trainable).Select(p => new CheckpointTensor(p.Name, p.Dims, values[p.Name])).ToList(),
        group0 is null ? [] : [group0],
        properties ?? OrtPropertyBag.Empty);

    /// <summary>Batch <paramref name="index"/>: x uniform in [−1, 1], y a fixed smooth function of x plus noise.</summary>
    public static (float[] X, float[] Y) Batch(int index)
    {
        var rng = new Random(1_000 + index);
        var x = new float[BatchSize * In];
        var y = new float[BatchSize * Out];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        for (int r = 0; r < BatchSize; r++)
        {
            y[r * Out] = (float)(Math.Sin(x[r * In]) + 0.5 * x[r * In + 2] + 0.05 * rng.NextDouble());
            y[r * Out + 1] = (float)(x[r * In + 1] * x[r * In + 2] - 0.3 + 0.05 * rng.NextDouble());
        }
        return (x, y);
    }

    public static Dictionary<string, FeedTensor> Feeds((float[] X, float[] Y) batch) => new()
    {
        [X] = new FeedTensor([BatchSize, In], batch.X),
        [Y] = new FeedTensor([BatchSize, Out], batch.Y),
    };

    /// <summary>Loss and the gradients of the trainable parameters, in float64, at parameters <paramref name="p"/>.</summary>
    public static (double Loss, Dictionary<string, double[]> Grads) Reference(IReadOnlyDictionary<string, double[]> p, (float[] X, float[] Y) batch)
    {
        double[] w1 = p[W1], b1 = p[B1], w2 = p[W2], b2 = p[B2];
        int n = BatchSize * Out;
        double loss = 0;
        var gb1 = new double[Hidden];
        var gw2 = new double[Hidden * Out];
        var gb2 = new double[Out];
        for (int r = 0; r < BatchSize; r++)
        {
            var h = new double[Hidden];
            for (int j = 0; j < Hidden; j++)
            {
                double z = b1[j];
                for (int i = 0; i < In; i++) z += batch.X[r * In + i] * w1[i * Hidden + j];
                h[j] = Math.Tanh(z);
            }
            var dh = new double[Hidden];
            for (int o = 0; o < Out; o++)
            {
                double pred = b2[o];
                for (int j = 0; j < Hidden; j++) pred += h[j] * w2[j * Out + o];
                double d = pred - batch.Y[r * Out + o];
                loss += d * d / n;
                double dpred = 2 * d / n;
                gb2[o] += dpred;
                for (int j = 0; j < Hidden; j++)
                {
                    gw2[j * Out + o] += h[j] * dpred;
                    dh[j] += dpred * w2[j * Out + o];
                }
            }
            for (int j = 0; j < Hidden; j++) gb1[j] += dh[j] * (1 - h[j] * h[j]);
        }
        return (loss, new Dictionary<string, double[]> { [B1] = gb1, [W2] = gw2, [B2] = gb2 });
    }
}
