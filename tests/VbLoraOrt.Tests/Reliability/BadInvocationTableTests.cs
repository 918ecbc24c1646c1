using System.Text.RegularExpressions;
using VbLoraOrt.Cli;
using VbLoraOrt.GraphBuilder.Cli;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runner;
using VbLoraOrt.Tests.Cli;

namespace VbLoraOrt.Tests.Reliability;

/// <summary>
/// Every row of <see cref="BadInvocationCases"/> run in process against one working folder of real files
/// (<see cref="BadInvocationWorkspace"/>): it must end in exit 1 or 2 with a message naming the file or option, without
/// a stack trace, a .NET type name or an option no command takes, and leave the folder exactly as it was — every file byte for byte, no file or
/// folder added (so an output the command would have written does not exist either).
/// </summary>
[TestClass]
public sealed partial class BadInvocationTableTests
{
    static string _root = null!;

    /// <summary>The table, one row per case, named by the case.</summary>
    public static IEnumerable<TestDataRow<BadInvocation>> Cases =>
        BadInvocationCases.All.Select(c => new TestDataRow<BadInvocation>(c) { DisplayName = c.Name });

    [ClassInitialize]
    public static void BuildWorkspace(TestContext _) => _root = BadInvocationWorkspace.Create();

    [ClassCleanup]
    public static void DeleteWorkspace()
    {
        if (_root != null && Directory.Exists(_root))
            Directory.Delete(_root, recursive: true);
    }

    /// <summary>Runs <paramref name="invocation"/> against <paramref name="root"/>; returns the exit code and the error output.</summary>
    public static (int Code, string Error) Run(BadInvocation invocation, string root)
    {
        var error = new StringWriter();
        string[] args = invocation.Arguments(root);
        int code = invocation.Program switch
        {
            "graph" => GraphCli.Run(args, new StringWriter(), error),
            "run" => RunnerCli.Run(args, new StringWriter(), error),
            _ => throw new ArgumentException($"unknown program '{invocation.Program}'"),
        };
        return (code, error.ToString());
    }

    [TestMethod]
    public void TheTable_HasAtLeastSixtyCasesOfBothPrograms_WithDistinctNames()
    {
        var cases = BadInvocationCases.All.ToList();
        Assert.IsGreaterThanOrEqualTo(60, cases.Count);
        Assert.IsTrue(cases.Any(c => c.Program == "graph") && cases.Any(c => c.Program == "run"));
        Assert.HasCount(cases.Count, cases.Select(c => c.Name).Distinct());
    }

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void BadInvocation_IsRefusedNamingTheCulprit_AndTheFolderIsUnchanged(BadInvocation invocation)
    {
        var before = FolderState.Of(_root);

        var (code, error) = Run(invocation, _root);

        Assert.IsTrue(code is ExitCodes.BadInput or ExitCodes.Usage, $"exit {code}: {error}");
        foreach (string name in invocation.Mentions(_root))
            StringAssert.Contains(error, name, $"the message names '{name}': {error}");
        Assert.IsFalse(StackFrame().IsMatch(error), $"no stack trace: {error}");
        Assert.IsFalse(DotNetTypeName().IsMatch(error), $"no .NET type name or parameter name: {error}");
        foreach (string option in ProgramCommands.Mentioned(error).Except(invocation.Arguments(_root)))
            Assert.Contains(option, ProgramCommands.OptionNames, $"the message suggests {option}, which no command takes: {error}");
        FolderState.Of(_root).AssertSameAs(before);
    }

    [GeneratedRegex(@"^\s+at \S", RegexOptions.Multiline)]
    private static partial Regex StackFrame();

    [GeneratedRegex(@"\b\w*Exception\b|\bSystem\.[A-Z]|\bVbLoraOrt\.[A-Z]|\(Parameter '")]
    private static partial Regex DotNetTypeName();
}

/// <summary>Every file of a folder tree with its SHA-256, and every folder.</summary>
sealed record FolderState(Dictionary<string, string> Files, HashSet<string> Folders)
{
    public static FolderState Of(string root) => new(
        Directory.GetFiles(root, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(root, f), Hashing.Sha256File),
        Directory.GetDirectories(root, "*", SearchOption.AllDirectories).Select(d => Path.GetRelativePath(root, d)).ToHashSet());

    public void AssertSameAs(FolderState before)
    {
        var added = Files.Keys.Except(before.Files.Keys).Concat(Folders.Except(before.Folders)).ToList();
        var removed = before.Files.Keys.Except(Files.Keys).Concat(before.Folders.Except(Folders)).ToList();
        var changed = before.Files.Where(f => Files.TryGetValue(f.Key, out string? hash) && hash != f.Value).Select(f => f.Key).ToList();
        Assert.IsTrue(added.Count + removed.Count + changed.Count == 0,
            $"added: [{string.Join(", ", added)}]; removed: [{string.Join(", ", removed)}]; changed: [{string.Join(", ", changed)}]");
    }
}
