using VbLoraOrt.DataPrep;

// vblora-data spamassassin [--out DIR]      regenerates src/VbLoraOrt.Runner/Demo/SpamAssassin/{train,test}.jsonl
// vblora-data accent-table [--out FILE]     regenerates the tokenizer's accent-folding table
const string Usage = "usage: vblora-data spamassassin [--out DIR] | vblora-data accent-table [--out FILE]";
if (args.Length is not (1 or 3) || args.Length == 3 && args[1] != "--out")
{
    Console.Error.WriteLine(Usage);
    return 2;
}
string? output = args.Length == 3 ? args[2] : null;
try
{
    switch (args[0])
    {
        case "accent-table":
            output ??= Path.Combine("src", "VbLoraOrt.Runtime", "Text", "AccentFolding.txt");
            File.WriteAllText(output, AccentFoldingTable.Generate());
            Console.WriteLine($"wrote {output}");
            return 0;
        case "spamassassin":
            output ??= Path.Combine("src", "VbLoraOrt.Runner", "Demo", "SpamAssassin");
            SpamAssassinSample.Write(output, Console.Out);
            return 0;
        default:
            Console.Error.WriteLine(Usage);
            return 2;
    }
}
catch (Exception e) when (e is IOException or InvalidDataException or InvalidOperationException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"vblora-data: {e.Message}");
    return 1;
}
