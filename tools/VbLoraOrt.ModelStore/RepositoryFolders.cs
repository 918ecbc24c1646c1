namespace VbLoraOrt.ModelStore;

/// <summary>
/// Folders of the source repository a program was built from (found by walking up from the program's folder to
/// <c>VbLoraOrt.sln</c>): where the model cache, the committed data sample and the projects live.
/// </summary>
public static class RepositoryFolders
{
    /// <summary>The repository root, or null when the program does not run from a build inside one.</summary>
    public static string? Root { get; } = FindRoot();

    /// <summary>The committed SpamAssassin sample (<c>tools/data/spamassassin</c>), or null outside a repository.</summary>
    public static string? SpamAssassinSample =>
        Root is { } root && File.Exists(Path.Combine(root, "tools", "data", "spamassassin", "train.jsonl"))
            ? Path.Combine(root, "tools", "data", "spamassassin")
            : null;

    static string? FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "VbLoraOrt.sln")))
                return dir.FullName;
        return null;
    }
}
