using System.Globalization;
using VbLoraOrt.Adapters.Files;
using VbLoraOrt.Adapters.Registry;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Runner;
using VbLoraOrt.Runner.Demo;

namespace VbLoraOrt.Tests.Runs;

/// <summary>
/// <c>vblora-run demo --compare</c> end to end on MiniLM with a slice the command accepts (one step, batch 2, 16 tokens,
/// four training and four held-out e-mails): one row per registered method, and each row's numbers are those of the
/// files the command wrote for that method (the manifest's adapter trainables, the adapter file read back, its size).
/// </summary>
[TestClass]
public sealed class DemoComparisonTests
{
    string _dir = "";

    [TestInitialize]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("vblora-demo-compare").FullName;

    [TestCleanup]
    public void DeleteDirectory()
    {
        if (Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
    }

    [TestMethod]
    public void Compare_WritesOneRowPerMethod_MatchingTheFilesItWrote()
    {
        string data = Path.Combine(_dir, "data"), outDir = Path.Combine(_dir, "out");
        Directory.CreateDirectory(data);
        File.WriteAllLines(Path.Combine(data, "train.jsonl"), File.ReadLines(DemoData.TrainFile).Take(4));
        File.WriteAllLines(Path.Combine(data, "test.jsonl"), File.ReadLines(DemoData.TestFile).Take(4));
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        int code = RunnerCli.Run(["demo", "--compare", "--steps", "1", "--batch-size", "2", "--max-length", "16", "--data", data, "--out", outDir], stdout, stderr);
        Assert.AreEqual(0, code, stdout.ToString() + stderr);

        var rows = File.ReadAllLines(Path.Combine(outDir, DemoOutput.ComparisonTable)).Where(l => l.StartsWith("| ", StringComparison.Ordinal)).Skip(1).ToList();
        Assert.HasCount(AdapterMethods.All.Count, rows, "one row per registered method");
        foreach (var (descriptor, row) in AdapterMethods.All.Zip(rows))
        {
            string[] cells = row.Split('|', StringSplitOptions.TrimEntries)[1..^1];
            Assert.AreEqual(descriptor.Demo.Label, cells[0], "rows in registry order, labelled with the method's demo preset");
            string folder = Path.Combine(outDir, DemoOutput.Compare, descriptor.Name);
            var manifest = ArtifactManifest.Load(Path.Combine(folder, DemoOutput.Artifacts, ArtifactNames.Manifest));
            long trainable = manifest.Trainables.Where(t => t.Group != ParameterGroups.Head).Sum(t => t.ElementCount);
            string adapterPath = Path.Combine(folder, DemoOutput.Adapter);
            var adapter = AdapterFile.Load(adapterPath);
            Assert.AreEqual(descriptor.Name, adapter.Method);
            Assert.AreEqual(trainable, Number(cells[1]), $"{descriptor.Name}: trainable adapter parameters");
            Assert.AreEqual(Math.Round(adapter.Summary.StoredParameterCount), Number(cells[2]), $"{descriptor.Name}: stored adapter parameters");
            Assert.AreEqual($"{new FileInfo(adapterPath).Length.ToString("N0", CultureInfo.InvariantCulture)} B", cells[3], $"{descriptor.Name}: adapter file bytes");
            double accuracy = double.Parse(cells[4].TrimEnd('%', ' '), CultureInfo.InvariantCulture);
            Assert.IsTrue(accuracy is >= 0 and <= 100, $"{descriptor.Name}: accuracy {cells[4]}");
            StringAssert.Matches(cells[5], new System.Text.RegularExpressions.Regex(@"^\d+:\d\d$"), $"{descriptor.Name}: training time");
        }
    }

    static double Number(string cell) => double.Parse(cell, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
}
