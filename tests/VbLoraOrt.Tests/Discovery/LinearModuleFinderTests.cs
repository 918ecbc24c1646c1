using Onnx;
using VbLoraOrt.Adapters.Discovery;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;
using VbLoraOrt.Tests.Support;

namespace VbLoraOrt.Tests.Discovery;

[TestClass]
public sealed class LinearModuleFinderTests
{
    [TestMethod]
    public void Find_OnMiniLM_FindsThe37LinearModulesWithTorchPaths()
    {
        var modules = LinearModuleFinder.Find(OnnxModel.Load(RealModel.ModelPath));

        var expected = new List<string>();
        for (int layer = 0; layer < 6; layer++)
            foreach (string m in new[] { "attention.self.query", "attention.self.key", "attention.self.value",
                                         "attention.output.dense", "intermediate.dense", "output.dense" })
                expected.Add($"encoder.layer.{layer}.{m}");
        expected.Add("pooler.dense");
        CollectionAssert.AreEqual(expected, modules.Select(m => m.Path).ToList());
        var intermediate = modules.Single(m => m.Path == "encoder.layer.3.intermediate.dense");
        Assert.AreEqual((384, 1536), (intermediate.InFeatures, intermediate.OutFeatures));
        var output = modules.Single(m => m.Path == "encoder.layer.3.output.dense");
        Assert.AreEqual((1536, 384), (output.InFeatures, output.OutFeatures));
        Assert.AreEqual(PathSource.BiasName, modules[0].PathSource, "torch 1.10 names weights 927…; the path comes from the bias");
        Assert.AreEqual("927", modules[0].WeightName);
        var pooler = modules[^1];
        Assert.AreEqual(("Gemm", WeightLayout.OutIn, PathSource.WeightName), (pooler.OpType, pooler.Layout, pooler.PathSource));
        Assert.AreEqual("pooler.dense.bias", pooler.BiasName);
    }

    [TestMethod]
    public void Find_WhenNodesHaveScopeNames_UsesScopePath()
    {
        var model = TinyModels.TwoLayerMlp();
        model.Graph.Node[0].Name = "/encoder/layer.0/attention/self/query/MatMul";

        var modules = LinearModuleFinder.Find(model);

        Assert.AreEqual(("encoder.layer.0.attention.self.query", PathSource.NodeScope), (modules[0].Path, modules[0].PathSource));
        Assert.IsFalse(modules[0].PathInferred);
    }

    [TestMethod]
    public void Find_WhenOnlyBiasIsNamed_InfersPathAndModuleOutputIsTheBiasAdd()
    {
        var modules = LinearModuleFinder.Find(TinyModels.TwoLayerMlp());

        Assert.AreEqual(2, modules.Count);
        Assert.AreEqual(("layer1", PathSource.BiasName, "layer1.bias", "h1"), (modules[0].Path, modules[0].PathSource, modules[0].BiasName, modules[0].OutputName));
        Assert.AreEqual(("layer2", "y", 8, 4), (modules[1].Path, modules[1].OutputName, modules[1].InFeatures, modules[1].OutFeatures));
        Assert.IsTrue(modules[0].PathInferred);
    }

    [TestMethod]
    public void Find_WhenWeightIsTransposedInitializer_ReportsOutInLayout()
    {
        var m = TinyModels.NewModel();
        m.Graph.Input.Add(TinyModels.FloatValue("x", "batch", 6));
        m.Graph.Output.Add(TinyModels.FloatValue("y", "batch", 3));
        m.Graph.Initializer.Add(Tensors.Float("proj.weight", [3, 6], TinyModels.Random(18, 1)));
        m.Graph.Node.Add(TinyModels.Node("Transpose", ["proj.weight"], ["wt"], "T", Attr.Ints("perm", 1, 0)));
        m.Graph.Node.Add(TinyModels.Node("MatMul", ["x", "wt"], ["y"], "MM"));

        var module = LinearModuleFinder.Find(OnnxModel.FromProto(m)).Single();

        Assert.AreEqual(("proj", WeightLayout.OutIn, 6, 3, "proj.weight"), (module.Path, module.Layout, module.InFeatures, module.OutFeatures, module.WeightName));
    }

    [TestMethod]
    public void Find_IgnoresMatMulOfTwoActivations()
    {
        var m = TinyModels.NewModel();
        m.Graph.Input.Add(TinyModels.FloatValue("q", 2, 4, 8));
        m.Graph.Input.Add(TinyModels.FloatValue("k", 2, 8, 4));
        m.Graph.Output.Add(TinyModels.FloatValue("scores", 2, 4, 4));
        m.Graph.Node.Add(TinyModels.Node("MatMul", ["q", "k"], ["scores"], "MatMul_scores"));

        Assert.AreEqual(0, LinearModuleFinder.Find(OnnxModel.FromProto(m)).Count);
    }

    [TestMethod]
    public void Find_WhenGemmHasTransAOrAlpha_LeavesItAlone()
    {
        var m = TinyModels.NewModel();
        m.Graph.Input.Add(TinyModels.FloatValue("x", 6, 2));
        m.Graph.Output.Add(TinyModels.FloatValue("y", 2, 3));
        m.Graph.Initializer.Add(Tensors.Float("w.weight", [6, 3], TinyModels.Random(18, 1)));
        m.Graph.Node.Add(TinyModels.Node("Gemm", ["x", "w.weight"], ["y"], "G", Attr.Int("transA", 1)));

        Assert.AreEqual(0, LinearModuleFinder.Find(OnnxModel.FromProto(m)).Count);
    }
}
