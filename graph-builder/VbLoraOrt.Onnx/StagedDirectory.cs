namespace VbLoraOrt.Onnx;

/// <summary>
/// A command's output folder built beside its target and swapped in only when complete (DESIGN.md §8): a command that
/// fails leaves the target exactly as it was. The target may be missing (the staging folder is renamed to it), empty,
/// or, when the user asked for <c>--overwrite</c>, hold an earlier output of the same command; files the command did
/// not write there before are never replaced or deleted.
/// </summary>
public sealed class StagedDirectory : IDisposable
{
    readonly string _target;
    readonly IReadOnlySet<string> _replaceable;
    bool _committed;

    StagedDirectory(string target, string staging, IReadOnlySet<string> replaceable)
    {
        _target = target;
        Path = staging;
        _replaceable = replaceable;
    }

    /// <summary>The staging folder to write into (hidden, beside the target, on the same file system).</summary>
    public string Path { get; }

    /// <summary>
    /// Starts a staged output for <paramref name="target"/>. A target holding files is refused unless
    /// <paramref name="overwrite"/>; then only the files named by <paramref name="ownFiles"/> (an earlier output of the
    /// same command, as its own record lists them) may be replaced or removed.
    /// </summary>
    /// <param name="target">The folder the user named.</param>
    /// <param name="overwrite">The user asked to replace an earlier output.</param>
    /// <param name="ownFiles">Names of the entries (files, or folders as a whole) of an earlier output in the target, e.g.
    /// read from its manifest.</param>
    /// <param name="option">The option that named the folder, for messages (e.g. <c>--out</c>).</param>
    /// <param name="inputs">Files the command reads: none of them may be an entry that would be replaced.</param>
    /// <exception cref="UsageException">The target holds files and <paramref name="overwrite"/> is false, it is a file, or
    /// an input is among the entries an overwrite would replace.</exception>
    public static StagedDirectory Begin(string target, bool overwrite, Func<string, IReadOnlyCollection<string>> ownFiles, string option = "--out",
        IEnumerable<string>? inputs = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(ownFiles);
        string full = System.IO.Path.GetFullPath(target);
        if (File.Exists(full))
            throw new UsageException($"{target}: is a file; {option} names a folder to create.");
        var replaceable = new HashSet<string>(StringComparer.Ordinal);
        if (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any())
        {
            if (!overwrite)
                throw new UsageException(
                    $"{target}: folder is not empty ({Describe(full)}); choose a new or empty {option}, or pass --overwrite to replace an earlier output of this command there (other files are kept).");
            replaceable.UnionWith(ownFiles(full));
            RequireInputsKept(target, full, replaceable, inputs ?? [], option);
        }
        string parent = System.IO.Path.GetDirectoryName(full.TrimEnd(System.IO.Path.DirectorySeparatorChar)) ?? full;
        Directory.CreateDirectory(parent);
        string staging = System.IO.Path.Combine(parent, $".{System.IO.Path.GetFileName(full.TrimEnd(System.IO.Path.DirectorySeparatorChar))}.staging-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        return new StagedDirectory(full, staging, replaceable);
    }

    static void RequireInputsKept(string target, string full, HashSet<string> replaceable, IEnumerable<string> inputs, string option)
    {
        foreach (string input in inputs)
        {
            string relative = System.IO.Path.GetRelativePath(full, System.IO.Path.GetFullPath(input));
            string entry = relative.Split(System.IO.Path.DirectorySeparatorChar)[0];
            if (!relative.StartsWith("..", StringComparison.Ordinal) && replaceable.Contains(entry))
                throw new UsageException(
                    $"{input}: is an input of this command, and --overwrite would replace it in {target}; copy it out of the folder first, or choose another {option}.");
        }
    }

    /// <summary>
    /// Moves the staged files into the target. <paramref name="last"/> (e.g. a manifest that makes the folder usable)
    /// moves after every other file, so a folder with it is complete. Before anything moves, a staged file whose name
    /// is taken in the target by a file this command did not write is refused.
    /// </summary>
    /// <exception cref="UsageException">A staged file would replace a file of the user's.</exception>
    public void Commit(string? last = null)
    {
        ObjectDisposedException.ThrowIf(_committed, this);
        if (!Directory.Exists(_target))
        {
            Directory.Move(Path, _target);
            _committed = true;
            return;
        }
        var staged = Directory.EnumerateFileSystemEntries(Path).Select(System.IO.Path.GetFileName).OfType<string>()
            .OrderBy(n => n == last ? 1 : 0).ThenBy(n => n, StringComparer.Ordinal).ToList();
        var clash = staged.FirstOrDefault(n => Exists(System.IO.Path.Combine(_target, n)) && !_replaceable.Contains(n));
        if (clash != null)
            throw new UsageException($"{System.IO.Path.Combine(_target, clash)}: exists and was not written by this command; it is left as it is. Choose another output folder.");
        if (last != null && _replaceable.Contains(last))
            Remove(System.IO.Path.Combine(_target, last)); // the old record goes first: a half-swapped folder is not usable
        foreach (string stale in _replaceable.Where(n => !staged.Contains(n)))
            Remove(System.IO.Path.Combine(_target, stale));
        foreach (string name in staged)
        {
            string from = System.IO.Path.Combine(Path, name), to = System.IO.Path.Combine(_target, name);
            if (Directory.Exists(from))
            {
                Remove(to);
                Directory.Move(from, to);
            }
            else
                File.Move(from, to, overwrite: true);
        }
        _committed = true;
        TryDeleteStaging();
    }

    /// <summary>Removes the staging folder unless it was committed (a failed command leaves nothing behind).</summary>
    public void Dispose()
    {
        if (!_committed)
            TryDeleteStaging();
        _committed = true;
    }

    void TryDeleteStaging()
    {
        try
        {
            if (Directory.Exists(Path))
                Directory.Delete(Path, recursive: true);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    static bool Exists(string path) => File.Exists(path) || Directory.Exists(path);

    static void Remove(string path)
    {
        if (Directory.Exists(path))
            Directory.Delete(path, recursive: true);
        else
            File.Delete(path);
    }

    static string Describe(string folder)
    {
        var entries = Directory.EnumerateFileSystemEntries(folder).Select(System.IO.Path.GetFileName).Take(4).ToList();
        int count = Directory.EnumerateFileSystemEntries(folder).Count();
        return count <= entries.Count ? $"holds {string.Join(", ", entries)}" : $"holds {count} entries, e.g. {string.Join(", ", entries)}";
    }
}
