using System.Text.Json;
using System.Text.Json.Nodes;
using VbLoraOrt.Bench;

namespace VbLoraOrt.Tests.Benchmarks;

[TestClass]
public sealed class OrtProfileTests
{
    // Per run (0, 1 cold; 2.. steady): kernel µs of a forward MatMul, a backward Mul (run twice per run, e.g. in a loop)
    // and a backward FusedMatMul, and the run's wall time.
    static readonly double[] ForwardMatMul = [9000, 4000, 100, 130, 110, 500];
    static readonly double[] BackwardMul = [7000, 3000, 20, 26, 22, 90];
    static readonly double[] BackwardProduct = [8000, 6000, 300, 280, 310, 290];
    static readonly double[] RunWall = [30000, 20000, 600, 640, 620, 1200];

    // A trace as ONNX Runtime writes it: session events, then per run its node events followed by the model_run event
    // (which carries the run's start time), and a node event before any run (session initialization).
    static JsonElement Trace()
    {
        var events = new JsonArray
        {
            new JsonObject { ["cat"] = "Session", ["name"] = "session_initialization", ["ts"] = 5, ["dur"] = 100 },
            Node("init_constant", "Constant", ts: 8, dur: 50),
        };
        double ts = 1000;
        for (int run = 0; run < RunWall.Length; run++)
        {
            double start = ts;
            events.Add(Node("layer0/MatMul", "MatMul", start + 10, ForwardMatMul[run]));
            events.Add(Node("grad/Mul_3", "Mul", start + 20, BackwardMul[run] / 2));
            events.Add(Node("grad/Mul_3", "Mul", start + 30, BackwardMul[run] / 2));
            events.Add(Node("grad/MatMul_7", "FusedMatMul", start + 40, BackwardProduct[run]));
            events.Add(new JsonObject { ["cat"] = "Session", ["name"] = "model_run", ["ts"] = start, ["dur"] = RunWall[run] });
            ts += RunWall[run] + 1000;
        }
        return JsonDocument.Parse(events.ToJsonString()).RootElement.Clone();
    }

    static JsonObject Node(string name, string op, double ts, double dur) => new()
    {
        ["cat"] = "Node", ["name"] = name + "_kernel_time", ["ts"] = ts, ["dur"] = dur, ["args"] = new JsonObject { ["op_name"] = op },
    };

    static double MedianOfSteady(double[] perRun, int skip)
    {
        var steady = perRun.Skip(skip).Order().ToArray();
        return steady.Length % 2 == 1 ? steady[steady.Length / 2] : (steady[steady.Length / 2 - 1] + steady[steady.Length / 2]) / 2;
    }

    [TestMethod]
    public void Parse_SkipsColdRunsAndTakesPerNodeMedians()
    {
        var profile = OrtProfile.Parse(Trace(), skipRuns: 2, "trace");

        Assert.AreEqual(4, profile.Runs);
        Assert.AreEqual(MedianOfSteady(ForwardMatMul, 2), profile.ForwardMicroseconds, 1e-9);
        Assert.AreEqual(MedianOfSteady(BackwardMul, 2) + MedianOfSteady(BackwardProduct, 2), profile.BackwardMicroseconds, 1e-9);
        Assert.AreEqual(MedianOfSteady(ForwardMatMul, 2) + MedianOfSteady(BackwardProduct, 2), profile.ProductMicroseconds, 1e-9);
        Assert.AreEqual(MedianOfSteady(RunWall, 2), profile.RunMicroseconds, 1e-9);
        Assert.IsTrue(profile.HasBackward);
        Assert.IsFalse(profile.Nodes.Any(n => n.Node == "init_constant"), "events before the first run belong to no run");
    }

    [TestMethod]
    public void Parse_OpsSumNodeMediansAndTellProductsApart()
    {
        var profile = OrtProfile.Parse(Trace(), skipRuns: 2, "trace");

        var other = profile.Ops(n => n.IsBackward && !n.IsMatrixProduct);
        Assert.AreEqual(1, other.Count);
        Assert.AreEqual("Mul", other[0].OpType);
        Assert.AreEqual(MedianOfSteady(BackwardMul, 2), other[0].Microseconds, 1e-9);
        Assert.AreEqual(3, profile.Ops().Count);
    }

    [TestMethod]
    public void Parse_WithoutSkippingCountsTheColdRuns()
    {
        var profile = OrtProfile.Parse(Trace(), skipRuns: 0, "trace");

        Assert.AreEqual(6, profile.Runs);
        Assert.AreEqual(MedianOfSteady(ForwardMatMul, 0), profile.ForwardMicroseconds, 1e-9);
    }

    [TestMethod]
    public void Parse_RefusesATraceWithNoRunPastTheSkippedOnes()
    {
        var e = Assert.ThrowsExactly<InvalidDataException>(() => OrtProfile.Parse(Trace(), skipRuns: 6, "my-trace.json"));
        StringAssert.Contains(e.Message, "my-trace.json");
        Assert.ThrowsExactly<InvalidDataException>(() => OrtProfile.Parse(JsonDocument.Parse("{}").RootElement, 0, "x"));
    }
}
