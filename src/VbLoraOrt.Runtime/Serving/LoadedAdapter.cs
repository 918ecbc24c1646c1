using Microsoft.ML.OnnxRuntime;

namespace VbLoraOrt.Runtime.Serving;

/// <summary>
/// One adapter loaded by ONNX Runtime (<see cref="OrtLoraAdapter"/>, the file memory-mapped) and the
/// <see cref="RunOptions"/> that activate it, kept for the session's lifetime: a run with <see cref="Options"/> feeds
/// the adapter's tensors to the serving model's inputs of the same names.
/// </summary>
public sealed class LoadedAdapter : IDisposable
{
    readonly OrtLoraAdapter _adapter;

    internal LoadedAdapter(string name, string path, long fileBytes)
    {
        Name = name;
        Path = path;
        FileBytes = fileBytes;
        _adapter = OrtLoraAdapter.Create(path, null);
        Options = ServingSession.QuietRunOptions();
        Options.AddActiveLoraAdapter(_adapter);
    }

    /// <summary>The name requests select it by.</summary>
    public string Name { get; }

    /// <summary>The file it was loaded from.</summary>
    public string Path { get; }

    /// <summary>The file's size.</summary>
    public long FileBytes { get; }

    /// <summary>Run options with this adapter active.</summary>
    public RunOptions Options { get; }

    /// <summary>Releases the run options first (they hold a pointer to the adapter), then the adapter.</summary>
    public void Dispose()
    {
        Options.Dispose();
        _adapter.Dispose();
    }
}
