namespace VbLoraOrt.Tests.Reliability;

/// <summary>
/// One bad command line: <paramref name="Program"/> (<c>graph</c> or <c>run</c>) with <paramref name="Args"/>, where
/// <c>{w}/</c> stands for the working folder (<see cref="BadInvocationWorkspace"/>); the error must name every one of
/// <paramref name="Names"/> (a file or an option, '|'-separated).
/// </summary>
public sealed record BadInvocation(string Name, string Program, string Args, string Names)
{
    /// <summary>The arguments with the working folder filled in (paths hold no spaces).</summary>
    public string[] Arguments(string root) => Args.Replace("{w}/", root + Path.DirectorySeparatorChar).Split(' ', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>What the error must mention, with the working folder filled in.</summary>
    public string[] Mentions(string root) => Names.Replace("{w}/", root + Path.DirectorySeparatorChar).Split('|');

    public override string ToString() => Name;
}
