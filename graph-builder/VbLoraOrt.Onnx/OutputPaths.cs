namespace VbLoraOrt.Onnx;

/// <summary>
/// Where a command may write a file (DESIGN.md §8): never over one of its own inputs (not even with <c>--overwrite</c>,
/// which replaces an earlier output, not what the command reads), never onto a folder, and over an existing file only
/// when the user passed <c>--overwrite</c>.
/// </summary>
public static class OutputPaths
{
    /// <summary>Checks that <paramref name="path"/>, named by <paramref name="option"/>, may be written.</summary>
    /// <param name="option">The option naming the output, as the command line spells it (e.g. <c>--merged</c>).</param>
    /// <param name="path">The output file.</param>
    /// <param name="overwrite">The user passed <c>--overwrite</c>.</param>
    /// <param name="inputs">Every file the command reads.</param>
    /// <exception cref="UsageException">The path is an input, a folder, or an existing file without <paramref name="overwrite"/>.</exception>
    public static void RequireWritableFile(string option, string path, bool overwrite, IEnumerable<string> inputs)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(inputs);
        if (Directory.Exists(path))
            throw new UsageException($"{option} {path}: is a folder; give the path of the file to write.");
        if (inputs.FirstOrDefault(input => SameFile(input, path)) is { } input)
            throw new UsageException($"{option} {path}: is a file this command reads ({input}); write the output to another path.");
        if (File.Exists(path) && !overwrite)
            throw new UsageException($"{option} {path}: exists; choose another path, or pass --overwrite to replace it.");
    }

    /// <summary>Whether two paths name one file (after making them absolute).</summary>
    public static bool SameFile(string a, string b) =>
        string.Equals(Path.GetFullPath(a), Path.GetFullPath(b), OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);
}
