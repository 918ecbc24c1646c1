using VbLoraOrt.Onnx;
using VbLoraOrt.OrtFormats.Adapters;

namespace VbLoraOrt.Runtime.Serving;

/// <summary>
/// The adapters a server loads, from <c>--adapters</c> entries: <c>NAME=FILE</c> pairs (comma-separated or repeated) or
/// folders, whose every <c>*.onnx_adapter</c> file is loaded under its file name without the extension.
/// </summary>
public static class AdapterSources
{
    /// <summary>(name, path) per adapter, in the order given (a folder's files by name).</summary>
    /// <exception cref="UsageException">An entry is neither NAME=FILE nor a folder; a name is given twice.</exception>
    public static IReadOnlyList<(string Name, string Path)> Parse(IEnumerable<string> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var result = new List<(string Name, string Path)>();
        foreach (string entry in entries.SelectMany(e => e.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            int equals = entry.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0 && equals == entry.Length - 1)
                throw new UsageException($"--adapters '{entry}': no file after '='; give NAME=FILE{OnnxAdapterFile.Extension}.");
            if (equals > 0)
                result.Add((entry[..equals], entry[(equals + 1)..]));
            else if (Directory.Exists(entry))
                result.AddRange(Directory.EnumerateFiles(entry, "*" + OnnxAdapterFile.Extension).Order(StringComparer.Ordinal)
                    .Select(f => (Path.GetFileNameWithoutExtension(f), f)));
            else
                throw new UsageException($"--adapters '{entry}': give NAME=FILE{OnnxAdapterFile.Extension} or a folder of {OnnxAdapterFile.Extension} files.");
        }
        var twice = result.GroupBy(a => a.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (twice != null)
            throw new UsageException($"--adapters: the name '{twice.Key}' is given twice ({string.Join(", ", twice.Select(a => a.Path))}); each adapter needs its own name.");
        return result;
    }
}
