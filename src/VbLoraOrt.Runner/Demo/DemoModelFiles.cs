namespace VbLoraOrt.Runner.Demo;

/// <summary>Paths of the extracted all-MiniLM-L6-v2 files.</summary>
/// <param name="ModelPath">The exported ONNX model (opset 13, torch 1.10).</param>
/// <param name="VocabPath">The WordPiece vocabulary (CRLF line endings).</param>
public sealed record DemoModelFiles(string ModelPath, string VocabPath);
