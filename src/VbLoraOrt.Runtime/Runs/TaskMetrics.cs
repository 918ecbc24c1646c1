namespace VbLoraOrt.Runtime.Runs;

/// <summary>Loss and accuracy of task outputs, computed on the host in double precision.</summary>
public static class TaskMetrics
{
    /// <summary>−log softmax(logits)[target].</summary>
    public static double CrossEntropy(IReadOnlyList<float> logits, long target)
    {
        ArgumentNullException.ThrowIfNull(logits);
        double max = logits.Max();
        double logSum = max + Math.Log(logits.Sum(x => Math.Exp(x - max)));
        return logSum - logits[(int)target];
    }

    /// <summary>Index of the largest value (first on ties).</summary>
    public static int ArgMax(IReadOnlyList<float> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        int best = 0;
        for (int i = 1; i < values.Count; i++)
            if (values[i] > values[best]) best = i;
        return best;
    }

    /// <summary>Softmax probabilities.</summary>
    public static double[] Softmax(IReadOnlyList<float> logits)
    {
        ArgumentNullException.ThrowIfNull(logits);
        double max = logits.Max();
        double[] e = logits.Select(x => Math.Exp(x - max)).ToArray();
        double sum = e.Sum();
        return e.Select(x => x / sum).ToArray();
    }

    /// <summary>
    /// In-batch contrastive loss of normalised embeddings laid out as <paramref name="pairs"/> anchors then their
    /// positives, and how many anchors rank their own positive first.
    /// </summary>
    public static (double Loss, int Hits) Contrastive(float[][] rows, int pairs, float scale)
    {
        ArgumentNullException.ThrowIfNull(rows);
        double loss = 0;
        int hits = 0;
        for (int a = 0; a < pairs; a++)
        {
            var scores = new float[pairs];
            for (int p = 0; p < pairs; p++)
            {
                double dot = 0;
                for (int h = 0; h < rows[a].Length; h++) dot += rows[a][h] * rows[pairs + p][h];
                scores[p] = (float)(scale * dot);
            }
            loss += CrossEntropy(scores, a);
            hits += ArgMax(scores) == a ? 1 : 0;
        }
        return (loss / Math.Max(1, pairs), hits);
    }
}
