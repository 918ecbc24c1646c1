using VbLoraOrt.Runtime.Data;

namespace VbLoraOrt.Tests.Data;

[TestClass]
public sealed class DataFileReaderTests
{
    static readonly string Folder = Directory.CreateTempSubdirectory("vblora-data-").FullName;

    static string Write(string name, string content)
    {
        string path = Path.Combine(Folder, name);
        File.WriteAllText(path, content);
        return path;
    }

    [TestMethod]
    public void ReadText_WhenJsonlWithClassNames_MapsNamesToIdsInOrdinalOrder()
    {
        string path = Write("names.jsonl", """
            {"text": "win money", "label": "spam"}

            {"text": "lunch?", "text_pair": "at noon", "label": "ham"}
            """);
        TextDataset data = DataFileReader.ReadText(path, LabelKind.Class);
        CollectionAssert.AreEqual(new[] { "ham", "spam" }, data.ClassNames!.ToArray());
        Assert.AreEqual(2, data.ClassCount);
        Assert.AreEqual(new TextExample("win money", null, 1, $"{path}:1"), data.Examples[0]);
        Assert.AreEqual(new TextExample("lunch?", "at noon", 0, $"{path}:3"), data.Examples[1]);
    }

    [TestMethod]
    public void ReadText_WhenClassNamesFixedByTrainingFile_UsesTheirIdsAndRejectsUnknownClass()
    {
        string path = Write("fixed.jsonl", "{\"text\": \"a\", \"label\": \"spam\"}\n{\"text\": \"b\", \"label\": \"eggs\"}\n");
        var options = new DataReadOptions { ClassNames = ["spam", "ham"], SkipBadRows = true };
        TextDataset data = DataFileReader.ReadText(path, LabelKind.Class, options);
        Assert.AreEqual(0, data.Examples.Single().Label);
        Assert.AreEqual(1, data.SkippedRows);
        StringAssert.Contains(data.Problems[0], $"{path}:2: label 'eggs' is not one of the classes spam, ham");
    }

    [TestMethod]
    public void ReadText_WhenCsvWithIntegerLabelsAndQuotedMultilineField_ReadsRows()
    {
        string path = Write("ids.csv", "text,label\r\n\"Hello, \"\"world\"\"\nsecond line\",2\r\nplain,0\r\n");
        TextDataset data = DataFileReader.ReadText(path, LabelKind.Class);
        Assert.IsNull(data.ClassNames);
        Assert.AreEqual(3, data.ClassCount);
        Assert.AreEqual(new TextExample("Hello, \"world\"\nsecond line", null, 2, $"{path}:2"), data.Examples[0]);
        Assert.AreEqual(new TextExample("plain", null, 0, $"{path}:4"), data.Examples[1]);
    }

    [TestMethod]
    public void ReadText_WhenTsvRegression_ReadsFloatTargets()
    {
        string path = Write("scores.tsv", "text\ttext_pair\tlabel\na cat\ta dog\t0.75\nx\ty\t-1e-2\n");
        TextDataset data = DataFileReader.ReadText(path, LabelKind.Regression);
        Assert.AreEqual(LabelKind.Regression, data.Kind);
        Assert.AreEqual(0.75, data.Examples[0].Label, 1e-12);
        Assert.AreEqual(-0.01, data.Examples[1].Label, 1e-12);
        Assert.AreEqual("a dog", data.Examples[0].TextPair);
    }

    [TestMethod]
    public void ReadPairs_WhenJsonl_ReadsAnchorsAndPositives()
    {
        string path = Write("pairs.jsonl", "{\"anchor\": \"q\", \"positive\": \"a\"}\n");
        Assert.AreEqual(new PairExample("q", "a", $"{path}:1"), DataFileReader.ReadPairs(path).Examples.Single());
    }

    [TestMethod]
    [DataRow("bad.jsonl", "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\", \"label\": \n", 2, "invalid JSON")]
    [DataRow("missing.jsonl", "{\"text\": \"a\", \"label\": 1}\n{\"label\": 0}\n", 2, "missing field 'text'")]
    [DataRow("type.jsonl", "{\"text\": \"a\", \"label\": 1}\n{\"text\": 5, \"label\": 0}\n", 2, "field 'text' must be a string, not 5")]
    [DataRow("mixed.jsonl", "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\", \"label\": \"spam\"}\n", 2, "label 'spam' is not a non-negative integer")]
    [DataRow("array.jsonl", "[1, 2]\n", 1, "a JSON array where an object is expected")]
    [DataRow("quotes.csv", "text,label\nok,1\n\"never closed,1\nmore,0\n", 3, "unbalanced double quote")]
    [DataRow("fields.tsv", "text\tlabel\nonly-one-field\n", 2, "1 fields but the header has 2")]
    public void ReadText_WhenRowIsBad_ThrowsNamingFileAndLine(string name, string content, int line, string problem)
    {
        string path = Write(name, content);
        var e = Assert.ThrowsExactly<DataFileException>(() => DataFileReader.ReadText(path, LabelKind.Class));
        Assert.AreEqual(line, e.Line);
        StringAssert.StartsWith(e.Message, $"{path}:{line}: {problem}");
    }

    [TestMethod]
    public void ReadText_WhenSkipBadRows_CountsAndKeepsGoodOnes()
    {
        string path = Write("skip.jsonl", "{\"text\": \"a\", \"label\": 1}\nnot json\n{\"text\": \"c\"}\n{\"text\": \"d\", \"label\": 0}\n");
        TextDataset data = DataFileReader.ReadText(path, LabelKind.Class, new DataReadOptions { SkipBadRows = true });
        CollectionAssert.AreEqual(new[] { "a", "d" }, data.Examples.Select(e => e.Text).ToArray());
        Assert.AreEqual(2, data.SkippedRows);
        StringAssert.StartsWith(data.Problems[1], $"{path}:3: missing field 'label'");
    }

    [TestMethod]
    public void ReadText_WhenRowLongerThanLimit_RejectsItAndReadsTheNextLine()
    {
        string path = Write("long.jsonl", "{\"text\": \"" + new string('x', 500) + "\", \"label\": 1}\n{\"text\": \"ok\", \"label\": 0}\n");
        var options = new DataReadOptions { MaxRowChars = 100, SkipBadRows = true };
        TextDataset data = DataFileReader.ReadText(path, LabelKind.Class, options);
        Assert.AreEqual("ok", data.Examples.Single().Text);
        StringAssert.Contains(data.Problems.Single(), ":1: row longer than 100 characters");
    }

    [TestMethod]
    public void ReadText_WhenMoreRowsThanLimit_ThrowsEvenWhenSkippingBadRows()
    {
        string path = Write("many.jsonl", string.Concat(Enumerable.Repeat("{\"text\": \"a\", \"label\": 0}\n", 4)));
        var e = Assert.ThrowsExactly<DataFileException>(
            () => DataFileReader.ReadText(path, LabelKind.Class, new DataReadOptions { MaxRows = 3, SkipBadRows = true }));
        StringAssert.Contains(e.Message, "more than 3 rows");
    }

    [TestMethod]
    public void ReadText_WhenExtensionUnknown_ThrowsNamingIt()
    {
        var e = Assert.ThrowsExactly<DataFileException>(() => DataFileReader.ReadText(Write("x.parquet", ""), LabelKind.Class));
        StringAssert.Contains(e.Message, "unknown data file type '.parquet'; use .jsonl, .csv or .tsv");
    }

    [TestMethod]
    [DataRow("rows.jsonl", "{\"text\": \"fine\", \"label\": \"ham\"}\n{\"text\": \"caf", "\", \"label\": \"spam\"}\n")]
    [DataRow("rows.csv", "text,label\nfine,ham\ncaf", ",spam\n")]
    public void Read_WhenARowIsNotUtf8_ReportsItAsABadRowWithItsLine(string name, string before, string after)
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("vblora-utf8").FullName, name);
        File.WriteAllBytes(path, [.. System.Text.Encoding.UTF8.GetBytes(before), 0xE9, .. System.Text.Encoding.UTF8.GetBytes(after)]); // Latin-1 é

        var e = Assert.ThrowsExactly<DataFileException>(() => DataFileReader.ReadText(path, LabelKind.Class));

        StringAssert.StartsWith(e.Message, $"{path}:{(name.EndsWith(".csv") ? 3 : 2)}: text that is not valid UTF-8");
    }
}
