namespace VbLoraOrt.Tests.Support;

/// <summary>
/// Every temporary folder of a test run lives under one root (<c>$TMPDIR/vblora-tests-&lt;pid&gt;</c>, set as the
/// process's TMPDIR, which .NET's <see cref="Path.GetTempPath"/> and child processes read), deleted when the run ends: tests
/// create hundreds of folders of artifacts and models, and a machine's /tmp must not fill up run after run.
/// </summary>
[TestClass]
public static class TestTempRoot
{
    static string? _root;

    [AssemblyInitialize]
    public static void Create(TestContext _)
    {
        _root = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"vblora-tests-{Environment.ProcessId}")).FullName;
        Environment.SetEnvironmentVariable("TMPDIR", _root);
    }

    [AssemblyCleanup]
    public static void Delete()
    {
        if (_root == null || !Directory.Exists(_root))
            return;
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException) { } // a file still open by a child process: the next run's machine cleanup takes it
        catch (UnauthorizedAccessException) { }
    }
}
