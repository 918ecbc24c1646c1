using Onnx;
using VbLoraOrt.Adapters.Methods.Lora;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Contracts.Checkpoints;
using VbLoraOrt.GraphBuilder.Artifacts.Optimizer;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Training;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Runtime;

/// <summary>
/// A hand-differentiated training model standing in for the graph-builder's: pred = x·W + b,
/// loss = mean((pred − y)²), dpred = 2(pred − y)/N, W_grad = xᵀ·dpred, b_grad = Σ_batch dpred.
/// Plus a float64 reference of the same loss and gradients, and a deterministic batch stream.
/// </summary>
static class LinearRegressionArtifacts
{
    public const int In = 3, Out = 2, BatchSize = 8;
    public const string X = "x", Y = "y";
    public static readonly TrainableTensor Weight = new("linear.weight", [In, Out], ParameterGroups.Head);
    public static readonly TrainableTensor Bias = new("linear.bias", [Out], LoraNames.Group);
    public static readonly TrainableTensor[] Trainables = [Weight, Bias];
    static readonly double[] TrueWeight = [1.5, -2.0, 0.5, 1.0, -1.0, 3.0];
    static readonly double[] TrueBias = [0.3, -0.7];

    public static byte[] TrainingModel()
    {
        var m = TinyModels.NewModel(17);
        var g = m.Graph;
        g.Input.Add(TinyModels.FloatValue(X, "batch", In));
        g.Input.Add(TinyModels.FloatValue(Y, "batch", Out));
        g.Input.Add(TinyModels.FloatValue(Weight.Name, In, Out));
        g.Input.Add(TinyModels.FloatValue(Bias.Name, Out));
        g.Output.Add(TinyModels.FloatValue(ArtifactNames.Loss));
        g.Output.Add(TinyModels.FloatValue(ArtifactNames.Grad(Weight.Name), In, Out));
        g.Output.Add(TinyModels.FloatValue(ArtifactNames.Grad(Bias.Name), Out));
        g.Initializer.Add(Tensors.Float("two", [], [2f]));
        g.Initializer.Add(Tensors.Int64Vector("axis0", 0));
        g.Node.Add(TinyModels.Node("MatMul", [X, Weight.Name], ["xw"]));
        g.Node.Add(TinyModels.Node("Add", ["xw", Bias.Name], ["pred"]));
        g.Node.Add(TinyModels.Node("Sub", ["pred", Y], ["d"]));
        g.Node.Add(TinyModels.Node("Mul", ["d", "d"], ["d2"]));
        g.Node.Add(TinyModels.Node("ReduceMean", ["d2"], [ArtifactNames.Loss], null, Attr.Int("keepdims", 0)));
        g.Node.Add(TinyModels.Node("Size", ["d"], ["n_int"]));
        g.Node.Add(TinyModels.Node("Cast", ["n_int"], ["n"], null, Attr.Int("to", (long)TensorProto.Types.DataType.Float)));
        g.Node.Add(TinyModels.Node("Div", ["two", "n"], ["scale"]));
        g.Node.Add(TinyModels.Node("Mul", ["d", "scale"], ["dpred"]));
        g.Node.Add(TinyModels.Node("Transpose", [X], ["xt"], null, Attr.Ints("perm", 1, 0)));
        g.Node.Add(TinyModels.Node("MatMul", ["xt", "dpred"], [ArtifactNames.Grad(Weight.Name)]));
        g.Node.Add(TinyModels.Node("ReduceSum", ["dpred", "axis0"], [ArtifactNames.Grad(Bias.Name)], null, Attr.Int("keepdims", 0)));
        return OnnxModel.FromProto(m).ToBytesInline();
    }

    public static byte[] OptimizerModel(AdamWOptions? options = null) =>
        OptimizerModelBuilder.Build(Trainables, options).ToBytesInline();

    /// <summary>Initial state at step 0 (moments omitted: zeros).</summary>
    public static Checkpoint Initial(string artifactsId, float[]? weight = null) => new(artifactsId, 0, DataLoaderPosition.Start(7),
    [
        new NamedTensor(Weight.Name, Weight.Shape, weight ?? TinyModels.Random(In * Out, 11, 0.5f)),
        new NamedTensor(Bias.Name, Bias.Shape, new float[Out]),
    ]);

    /// <summary>Batch <paramref name="index"/> of the stream seeded by <paramref name="seed"/>: y = x·W* + b* + noise.</summary>
    public static (float[] X, float[] Y) Batch(long seed, long index)
    {
        // Not HashCode.Combine: it is seeded randomly per process, which made the data (and the loss curve) differ run to run.
        var rng = new Random(unchecked((int)(seed * 1_000_003 + index)));
        var x = new float[BatchSize * In];
        var y = new float[BatchSize * Out];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        for (int r = 0; r < BatchSize; r++)
            for (int o = 0; o < Out; o++)
            {
                double v = TrueBias[o] + 0.01 * (rng.NextDouble() - 0.5);
                for (int i = 0; i < In; i++) v += x[r * In + i] * TrueWeight[i * Out + o];
                y[r * Out + o] = (float)v;
            }
        return (x, y);
    }

    public static BatchTensor[] ToBatch((float[] X, float[] Y) batch) =>
    [
        BatchTensor.Float(X, [batch.X.Length / In, In], batch.X),
        BatchTensor.Float(Y, [batch.Y.Length / Out, Out], batch.Y),
    ];

    /// <summary>Loss and gradients in float64 for parameters <paramref name="w"/>, <paramref name="b"/>.</summary>
    public static (double Loss, float[] WeightGrad, float[] BiasGrad) Reference(double[] w, double[] b, (float[] X, float[] Y) batch)
    {
        int rows = batch.X.Length / In, n = rows * Out;
        double loss = 0;
        var gw = new double[In * Out];
        var gb = new double[Out];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < Out; o++)
            {
                double pred = b[o];
                for (int i = 0; i < In; i++) pred += batch.X[r * In + i] * w[i * Out + o];
                double d = pred - batch.Y[r * Out + o];
                loss += d * d / n;
                double dpred = 2 * d / n;
                gb[o] += dpred;
                for (int i = 0; i < In; i++) gw[i * Out + o] += batch.X[r * In + i] * dpred;
            }
        return (loss, gw.Select(v => (float)v).ToArray(), gb.Select(v => (float)v).ToArray());
    }
}
