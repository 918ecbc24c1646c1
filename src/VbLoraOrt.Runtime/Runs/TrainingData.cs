using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;
using VbLoraOrt.Runtime.Data;
using VbLoraOrt.Runtime.Text;
using VbLoraOrt.Runtime.Training;

namespace VbLoraOrt.Runtime.Runs;

/// <summary>A data file read and tokenized for a task, and its batches as graph feeds.</summary>
public sealed class TrainingData
{
    TrainingData(EncodedDataset encoded, TaskInfo task, IReadOnlyList<string>? classNames, int skippedRows)
    {
        Encoded = encoded;
        Task = task;
        ClassNames = classNames;
        SkippedRows = skippedRows;
    }

    /// <summary>The tokenized examples.</summary>
    public EncodedDataset Encoded { get; }

    /// <summary>The task the data is read for.</summary>
    public TaskInfo Task { get; }

    /// <summary>Class names in id order, when the file names its classes.</summary>
    public IReadOnlyList<string>? ClassNames { get; }

    /// <summary>Bad rows skipped.</summary>
    public int SkippedRows { get; }

    /// <summary>
    /// Reads <paramref name="path"/> with the fields <paramref name="task"/> needs and tokenizes it with
    /// <paramref name="tokenizer"/> to at most <paramref name="maxLength"/> tokens, skipping bad rows when
    /// <paramref name="skipBadRows"/>; <paramref name="classNames"/> fixes class ids (from the training file).
    /// <paramref name="skipBadRowsOption"/> is the option a bad row's message offers (null: the command has none).
    /// </summary>
    public static TrainingData Load(string path, TaskInfo task, BertTextTokenizer tokenizer, int maxLength, bool skipBadRows,
        IReadOnlyList<string>? classNames, string? skipBadRowsOption = "--skip-bad-rows")
    {
        ArgumentNullException.ThrowIfNull(task);
        var read = new DataReadOptions { SkipBadRows = skipBadRows, ClassNames = classNames, SkipBadRowsOption = skipBadRowsOption };
        if (task.Kind == TaskKind.Embed)
        {
            var pairs = DataFileReader.ReadPairs(path, read);
            RequireRows(path, pairs.Examples.Count);
            return new TrainingData(EncodedDataset.Encode(pairs, tokenizer, maxLength), task, null, pairs.SkippedRows);
        }
        var text = DataFileReader.ReadText(path, task.NumLabels == 1 ? LabelKind.Regression : LabelKind.Class, read);
        RequireRows(path, text.Examples.Count);
        if (task.NumLabels > 1 && text.ClassCount > task.NumLabels)
            throw new BadInputException(
                $"{path}: the data has {text.ClassCount} classes ({string.Join(", ", text.ClassNames ?? [])}) but the artifacts' head has {task.NumLabels}; prepare with --num-labels {text.ClassCount}.");
        return new TrainingData(EncodedDataset.Encode(text, tokenizer, maxLength), task, text.ClassNames, text.SkippedRows);
    }

    /// <summary>One epoch's batches as feeds (data inputs and labels), with their real token count and first example's source.</summary>
    public List<(IReadOnlyList<BatchTensor> Feeds, long Tokens, string Source)> Batches(BatchOptions batching, int epoch, int padId,
        IReadOnlyList<string> dataInputs)
    {
        var result = new List<(IReadOnlyList<BatchTensor>, long, string)>();
        if (Task.Kind == TaskKind.Embed)
        {
            foreach (var batch in Encoded.PairBatches(batching, epoch))
                result.Add((BatchFeeds.ForPairs(batch, dataInputs, padId),
                    batch.Anchors.AttentionMask.Sum() + batch.Positives.AttentionMask.Sum(), $"pair #{batch.Examples[0] + 1}"));
        }
        else
        {
            foreach (var batch in Encoded.TextBatches(batching, epoch))
                result.Add((BatchFeeds.ForText(batch, dataInputs, withLabels: true), batch.Tokens.AttentionMask.Sum(),
                    $"row #{batch.Examples[0] + 1}"));
        }
        return result;
    }

    static void RequireRows(string path, int count)
    {
        if (count == 0)
            throw new BadInputException($"{path}: no usable rows.");
    }
}
