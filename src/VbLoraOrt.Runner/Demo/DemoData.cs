namespace VbLoraOrt.Runner.Demo;

/// <summary>
/// The demo's data: the committed SpamAssassin sample (<c>Demo/SpamAssassin</c> in this project, 1,600 training and
/// 500 held-out e-mails), copied beside the program by the build, so the demo finds it wherever it runs from.
/// </summary>
public static class DemoData
{
    /// <summary>The sample's folder beside the program: <c>train.jsonl</c> and <c>test.jsonl</c>.</summary>
    public static string SpamAssassinFolder { get; } = Path.Combine(AppContext.BaseDirectory, "demo-data", "spamassassin");

    /// <summary>The training split.</summary>
    public static string TrainFile => Path.Combine(SpamAssassinFolder, "train.jsonl");

    /// <summary>The held-out split.</summary>
    public static string TestFile => Path.Combine(SpamAssassinFolder, "test.jsonl");
}
