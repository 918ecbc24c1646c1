using VbLoraOrt.Adapters.Storage;
using VbLoraOrt.Cli;
using VbLoraOrt.GraphBuilder.Cli;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runner;
using VbLoraOrt.Tests.OrtTraining;
using VbLoraOrt.Tests.Serving;

namespace VbLoraOrt.Tests.Reliability;

/// <summary>
/// A user's working folder, built through both programs from tiny models: what the bad invocations of
/// <see cref="BadInvocationTableTests"/> point at. Every path below is relative to <see cref="Root"/>.
/// <code>
/// model/encoder.onnx, model/vocab.txt      the one-layer BERT-shaped encoder (20 token rows) and its vocabulary
/// other/encoder.onnx                       another encoder (layer1, layer2) with as many token rows
/// art/  (VB-LoRA, --format ort)            art-lora/ (LoRA)   art-3/ (VB-LoRA, 3 labels)   art-other/ (other model)
/// run/  run-lora/  run-3/  run-other/      two steps of training on each
/// adapter.safetensors  lora.safetensors  three.safetensors  other.safetensors    each run's stored adapter
/// merged/model.onnx, peft/, serving/, user.onnx_adapter                           the exports of run/
/// data/*.jsonl|csv, notes.txt, empty/, foreign-vocab.txt, damaged/…               inputs users get wrong
/// </code>
/// </summary>
static class BadInvocationWorkspace
{
    static readonly string[] Specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
    static readonly string[] Words = ["hello", "world", "free", "cruise", "lunch", "noon", "click", "now", "win", "money", "meeting", "today", "offer", "at", "the"];
    const string VbLora = "--method vblora --num-vectors 8 --vector-length 4 --rank 2 --topk 2";

    /// <summary>Builds the folder under a new temporary directory and returns it.</summary>
    public static string Create()
    {
        string root = Directory.CreateTempSubdirectory("vblora-bad-invocations").FullName;
        try
        {
            Fill(root);
            return root;
        }
        catch
        {
            Directory.Delete(root, recursive: true);
            throw;
        }
    }

    static void Fill(string root)
    {
        string P(string relative) => Path.Combine(root, relative);
        Directory.CreateDirectory(P("model"));
        Directory.CreateDirectory(P("other"));
        Directory.CreateDirectory(P("data"));
        Directory.CreateDirectory(P("empty"));
        Directory.CreateDirectory(P("damaged"));
        TinyTransformer.Write(P("model/encoder.onnx"));
        TinyServing.Encoder().Save(P("other/encoder.onnx"));
        File.WriteAllLines(P("model/vocab.txt"), Specials.Concat(Words));
        File.WriteAllLines(P("foreign-vocab.txt"), Specials.Concat(Words.Reverse()));
        File.WriteAllLines(P("too-many-vocab.txt"), Specials.Concat(Words).Concat(["extra", "tokens"]));
        File.WriteAllText(P("notes.txt"), "my notes, not a model\n");
        WriteData(root);

        string common = $"--vocab {P("model/vocab.txt")} --max-length 16 --pooling mean";
        Graph($"prepare --model {P("model/encoder.onnx")} {VbLora} --targets query,value {common} --format ort --out {P("art")}");
        Graph($"prepare --model {P("model/encoder.onnx")} --method lora --rank 2 --targets query,value {common} --out {P("art-lora")}");
        Graph($"prepare --model {P("model/encoder.onnx")} {VbLora} --targets query,value {common} --num-labels 3 --out {P("art-3")}");
        Graph($"prepare --model {P("other/encoder.onnx")} {VbLora} --targets layer1,layer2 {common} --out {P("art-other")}");
        foreach (var (artifacts, run, adapter) in new[] { ("art", "run", "adapter"), ("art-lora", "run-lora", "lora"), ("art-3", "run-3", "three"), ("art-other", "run-other", "other") })
        {
            Runner($"train --artifacts {P(artifacts)} --train {P("data/train.jsonl")} --out {P(run)} --max-steps 2 --batch-size 2 --threads 1");
            Runner($"export --run {P(run)} --adapter {P(adapter + ".safetensors")}");
        }
        Runner($"export --run {P("run")} --merged {P("merged/model.onnx")} --peft {P("peft")} --serving {P("serving")} --onnx-adapter {P("user.onnx_adapter")}");
        File.WriteAllText(P("requests.jsonl"), "{\"adapter\": \"user\", \"text\": \"hello world\"}\n");
        WriteDamaged(root);
    }

    static void WriteData(string root)
    {
        string[] rows =
        [
            "{\"text\": \"win free money now\", \"label\": \"spam\"}",
            "{\"text\": \"lunch at noon today\", \"label\": \"ham\"}",
            "{\"text\": \"click now free cruise offer\", \"label\": \"spam\"}",
            "{\"text\": \"hello world meeting today\", \"label\": \"ham\"}",
        ];
        File.WriteAllLines(Path.Combine(root, "data/train.jsonl"), rows);
        File.WriteAllLines(Path.Combine(root, "data/broken.jsonl"), [rows[0], "{\"text\": \"lunch at noon\", \"label\"", rows[1]]);
        File.WriteAllLines(Path.Combine(root, "data/no-label.jsonl"), [rows[0], "{\"text\": \"lunch at noon\"}"]);
        File.WriteAllLines(Path.Combine(root, "data/four-classes.jsonl"), rows.Select((r, i) => r.Replace(i % 2 == 0 ? "spam" : "ham", $"class{i}")));
        File.WriteAllLines(Path.Combine(root, "data/no-text.csv"), ["label,body", "spam,win money"]);
        File.WriteAllLines(Path.Combine(root, "data/pairs.jsonl"), ["{\"anchor\": \"hello\", \"positive\": \"world\"}"]);
        byte[] invalid = [.. System.Text.Encoding.UTF8.GetBytes(rows[0] + "\n{\"text\": \"lunch "), 0xC3, 0x28, 0xFF, .. System.Text.Encoding.UTF8.GetBytes("\", \"label\": \"ham\"}\n")];
        File.WriteAllBytes(Path.Combine(root, "data/not-utf8.jsonl"), invalid);
        File.WriteAllText(Path.Combine(root, "data/empty.jsonl"), "");
    }

    // Copies with one thing broken each; the originals stay valid.
    static void WriteDamaged(string root)
    {
        string P(string relative) => Path.Combine(root, relative);
        CopyFolder(P("run"), P("damaged/run-truncated"));
        Truncate(P("damaged/run-truncated/checkpoint.ckpt"));
        CopyFolder(P("art"), P("damaged/art-manifest"));
        Truncate(P("damaged/art-manifest/manifest.json"));
        CopyFolder(P("art"), P("damaged/art-training"));
        Truncate(P("damaged/art-training/training_model.onnx"));
        File.Copy(P("adapter.safetensors"), P("damaged/adapter-truncated.safetensors"));
        Truncate(P("damaged/adapter-truncated.safetensors"));
        File.Copy(P("adapter.safetensors"), P("damaged/adapter-nan.safetensors"));
        PlantFloat(P("damaged/adapter-nan.safetensors"), float.NaN);
        CopyFolder(P("peft"), P("damaged/peft-truncated"));
        Truncate(P("damaged/peft-truncated/adapter_model.safetensors"));
        CopyFolder(P("peft"), P("damaged/peft-nan"));
        PlantFloat(P("damaged/peft-nan/adapter_model.safetensors"), float.PositiveInfinity);
        CopyFolder(P("peft"), P("damaged/peft-config"));
        File.WriteAllText(P("damaged/peft-config/adapter_config.json"), "{\"peft_type\": \"LORA\", \"r\": ");
        File.Copy(P("model/encoder.onnx"), P("damaged/encoder-truncated.onnx"));
        Truncate(P("damaged/encoder-truncated.onnx"));
        File.Copy(P("user.onnx_adapter"), P("damaged/truncated.onnx_adapter"));
        Truncate(P("damaged/truncated.onnx_adapter"));
    }

    // The first F32 tensor's first value set to value, through the product's own safetensors reader and writer.
    static void PlantFloat(string path, float value)
    {
        var (tensors, metadata) = SafetensorsFile.Read(path);
        var first = tensors.First(t => t.DType == "F32");
        BitConverter.GetBytes(value).CopyTo(first.Data, 0);
        SafetensorsFile.Write(path, tensors, metadata);
    }

    static void Truncate(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        file.SetLength(file.Length / 2);
    }

    static void CopyFolder(string from, string to)
    {
        foreach (string file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    static void Graph(string args) => Must(GraphCli.Run, args);

    static void Runner(string args) => Must((a, o, e) => RunnerCli.Run(a, o, e), args);

    static void Must(Func<string[], TextWriter, TextWriter, int> program, string args)
    {
        var error = new StringWriter();
        int code = program(args.Split(' ', StringSplitOptions.RemoveEmptyEntries), new StringWriter(), error);
        if (code != ExitCodes.Ok)
            throw new InvalidOperationException($"building the workspace: `{args}` exited {code}: {error}");
    }
}
