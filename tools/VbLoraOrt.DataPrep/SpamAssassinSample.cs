namespace VbLoraOrt.DataPrep;

/// <summary>Placeholder.</summary>
public static class SpamAssassinSample
{
    /// <summary>Placeholder.</summary>
    public static void Write(string folder, TextWriter log) => throw new NotImplementedException();
}
