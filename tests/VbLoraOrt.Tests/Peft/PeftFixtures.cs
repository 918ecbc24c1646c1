using System.Runtime.CompilerServices;

namespace VbLoraOrt.Tests.Peft;

/// <summary>Locates the committed fixtures beside this source file (they are not copied to the test output).</summary>
internal static class PeftFixtures
{
    public static string Directory([CallerFilePath] string sourceFile = "") => Path.Combine(Path.GetDirectoryName(sourceFile)!, "Fixtures");

    public static string Config(string method) => Path.Combine(Directory(), $"{method}_adapter_config.json");
}
