using System.Text.Json.Nodes;
using VbLoraOrt.Adapters.Peft;

namespace VbLoraOrt.Tests.Peft;

/// <summary>
/// <see cref="PythonJson"/> against CPython 3's <c>repr(float)</c> and <c>json.dumps(..., indent=2, sort_keys=True)</c>
/// (expected strings printed by the machine's python3; see each row).
/// </summary>
[TestClass]
public sealed class PythonJsonTests
{
    [TestMethod]
    [DataRow(0.1, "0.1")]
    [DataRow(0.02, "0.02")]
    [DataRow(0.0, "0.0")]
    [DataRow(-0.0, "-0.0")]
    [DataRow(256.0, "256.0")]
    [DataRow(1e-05, "1e-05")]
    [DataRow(0.0001, "0.0001")]
    [DataRow(0.00012345, "0.00012345")]
    [DataRow(1.5e-07, "1.5e-07")]
    [DataRow(1e15, "1000000000000000.0")]
    [DataRow(1e16, "1e+16")]
    [DataRow(1.2345e100, "1.2345e+100")]
    [DataRow(123456.789, "123456.789")]
    [DataRow(-2.5, "-2.5")]
    [DataRow(1.0 / 3, "0.3333333333333333")]
    [DataRow(5e-324, "5e-324")]
    public void FloatRepr_MatchesPython(double value, string expected)
    {
        Assert.AreEqual(expected, PythonJson.FloatRepr(value));
    }

    [TestMethod]
    public void Dumps_MatchesPythonLayout()
    {
        // python3 -c 'import json; print(json.dumps({"b": [1, "x"], "a": {}, "c": [], "d": {"z": None, "y": 1.0}, "e": "é\"\n"}, indent=2, sort_keys=True))'
        const string expected = "{\n  \"a\": {},\n  \"b\": [\n    1,\n    \"x\"\n  ],\n  \"c\": [],\n  \"d\": {\n    \"y\": 1.0,\n    \"z\": null\n  },\n  \"e\": \"\\u00e9\\\"\\n\"\n}";
        var node = new JsonObject
        {
            ["b"] = new JsonArray(1, "x"),
            ["a"] = new JsonObject(),
            ["c"] = new JsonArray(),
            ["d"] = new JsonObject { ["z"] = null, ["y"] = 1.0 },
            ["e"] = "é\"\n",
        };

        Assert.AreEqual(expected, PythonJson.Dumps(node));
    }

    [TestMethod]
    public void Dumps_WhenNumbersParsed_KeepsIntegerOrFloatAsPythonWould()
    {
        // json.loads then json.dumps: 16 stays 16, 16.0 stays 16.0, 1E-5 becomes 1e-05, 0.10 becomes 0.1.
        var node = JsonNode.Parse("[16, 16.0, 1E-5, 0.10]");

        Assert.AreEqual("[\n  16,\n  16.0,\n  1e-05,\n  0.1\n]", PythonJson.Dumps(node));
    }
}
