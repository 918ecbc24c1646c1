using VbLoraOrt.Onnx;

namespace VbLoraOrt.Runtime.Data;

/// <summary>A data file row (or the file) is unusable. The message reads <c>file:line: what is wrong; what to do</c>.</summary>
public sealed class DataFileException : VbLoraOrt.Onnx.BadInputException
{
    /// <summary>Creates the exception for <paramref name="path"/> at 1-based <paramref name="line"/> (0: the whole file).</summary>
    public DataFileException(string path, int line, string problem)
        : base(line > 0 ? $"{path}:{line}: {problem}" : $"{path}: {problem}")
    {
        Path = path;
        Line = line;
        Problem = problem;
    }

    /// <summary>The data file.</summary>
    public string Path { get; }

    /// <summary>1-based line where the bad row starts, or 0 when the problem is the whole file.</summary>
    public int Line { get; }

    /// <summary>What is wrong and what to do, without the location.</summary>
    public string Problem { get; }
}
