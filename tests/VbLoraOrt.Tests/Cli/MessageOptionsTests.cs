using System.Text.RegularExpressions;

namespace VbLoraOrt.Tests.Cli;

/// <summary>
/// Messages name real options (DESIGN.md §8): every <c>--option</c> that a string literal of the product mentions — the
/// messages, descriptions and hints users read — is an option one of the two programs takes. The table of bad
/// invocations checks the same of every message it provokes (<c>Reliability/BadInvocationTableTests</c>).
/// </summary>
[TestClass]
public sealed partial class MessageOptionsTests
{
    static readonly string RepositoryRoot = FindRepositoryRoot();

    static string FindRepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "VbLoraOrt.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("VbLoraOrt.sln not found above the test assembly");
    }

    // (file:line, option) for every --option inside a string literal of the product's source; comments are skipped.
    static List<(string Where, string Option)> OptionsInStringLiterals()
    {
        var found = new List<(string, string)>();
        foreach (string top in new[] { "src", "graph-builder" })
            foreach (string file in Directory.EnumerateFiles(Path.Combine(RepositoryRoot, top), "*.cs", SearchOption.AllDirectories)
                         .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}")))
            {
                string[] lines = File.ReadAllLines(file);
                for (int i = 0; i < lines.Length; i++)
                {
                    if (lines[i].TrimStart().StartsWith("//", StringComparison.Ordinal))
                        continue;
                    foreach (Match literal in StringLiteral().Matches(lines[i]))
                        foreach (string option in ProgramCommands.Mentioned(literal.Value))
                            found.Add(($"{Path.GetRelativePath(RepositoryRoot, file)}:{i + 1}", option));
                }
            }
        return found;
    }

    [TestMethod]
    public void EveryOptionAStringLiteralMentions_IsAnOptionOfOneOfThePrograms()
    {
        var mentions = OptionsInStringLiterals();

        Assert.IsGreaterThan(100, mentions.Count, "the scan finds the options the commands declare and their messages name");
        var unknown = mentions.Where(m => !ProgramCommands.OptionNames.Contains(m.Option)).Select(m => $"{m.Where}: {m.Option}").ToList();
        Assert.IsEmpty(unknown, "options that no command takes:\n" + string.Join("\n", unknown));
    }

    [TestMethod]
    public void TheScan_CatchesAnOptionNoCommandTakes()
    {
        Assert.IsTrue(StringLiteral().IsMatch("throw new UsageException($\"use --row-limit\");"));
        Assert.AreEqual("--row-limit", ProgramCommands.Mentioned("\"raise --row-limit, or see --lr-\"").First());
        Assert.DoesNotContain("--row-limit", ProgramCommands.OptionNames);
        Assert.Contains("--skip-bad-rows", ProgramCommands.OptionNames);
    }

    [TestMethod]
    public void BadRowMessages_OfferSkippingOnlyWhereTheCommandHasTheOption()
    {
        string dir = Directory.CreateTempSubdirectory("vblora-bad-row").FullName;
        try
        {
            string data = Path.Combine(dir, "rows.jsonl");
            File.WriteAllLines(data, ["{\"text\": \"a\", \"label\": \"x\"}", "{\"text\": \"b\"}"]);
            var read = () => VbLoraOrt.Runtime.Data.DataFileReader.ReadText(data, VbLoraOrt.Runtime.Data.LabelKind.Class);
            var offered = () => VbLoraOrt.Runtime.Data.DataFileReader.ReadText(data, VbLoraOrt.Runtime.Data.LabelKind.Class,
                new VbLoraOrt.Runtime.Data.DataReadOptions { SkipBadRowsOption = "--skip-bad-rows" });

            string without = Assert.ThrowsExactly<VbLoraOrt.Runtime.Data.DataFileException>(read).Message;
            string with = Assert.ThrowsExactly<VbLoraOrt.Runtime.Data.DataFileException>(offered).Message;

            StringAssert.Contains(without, "rows.jsonl:2");
            Assert.DoesNotContain("skip", without);
            StringAssert.Contains(with, "--skip-bad-rows");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [GeneratedRegex(@"\$?@?""(?:[^""\\]|\\.)*""")]
    private static partial Regex StringLiteral();
}
