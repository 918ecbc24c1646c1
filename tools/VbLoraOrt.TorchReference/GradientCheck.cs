using System.Globalization;
using System.Text;
using VbLoraOrt.Runtime.Sessions;

namespace VbLoraOrt.TorchReference;

/// <summary>How far our value of one tensor is from LibTorch's.</summary>
/// <param name="Name">Trainable (or <c>loss</c>).</param>
/// <param name="Elements">Elements compared.</param>
/// <param name="MaxRelative">max |ours − torch| / max |torch|: the largest error relative to the tensor's scale (the gated figure).</param>
/// <param name="NormRelative">‖ours − torch‖₂ / ‖torch‖₂.</param>
/// <param name="ReferenceMax">max |torch|, for scale.</param>
/// <param name="SupportMismatches">Elements zero on one side and not on the other (a logits gradient is nonzero only at
/// the k picked entries of each row, so this counts rows whose top-k differ).</param>
sealed record TensorAgreement(string Name, long Elements, double MaxRelative, double NormRelative, double ReferenceMax, long SupportMismatches)
{
    public static TensorAgreement Of(string name, ReadOnlySpan<float> ours, ReadOnlySpan<float> reference)
    {
        if (ours.Length != reference.Length)
            throw new InvalidOperationException($"'{name}': {ours.Length} values ours, {reference.Length} LibTorch's.");
        double maxDiff = 0, maxRef = 0, diff2 = 0, ref2 = 0;
        long mismatches = 0;
        for (int i = 0; i < ours.Length; i++)
        {
            double o = ours[i], r = reference[i], d = Math.Abs(o - r);
            if (!double.IsFinite(o) || !double.IsFinite(r))
                d = double.PositiveInfinity;
            maxDiff = Math.Max(maxDiff, d);
            maxRef = Math.Max(maxRef, Math.Abs(r));
            diff2 += d * d;
            ref2 += r * r;
            if ((o == 0) != (r == 0))
                mismatches++;
        }
        return new TensorAgreement(name, ours.Length, maxRef > 0 ? maxDiff / maxRef : maxDiff, ref2 > 0 ? Math.Sqrt(diff2 / ref2) : Math.Sqrt(diff2),
            maxRef, mismatches);
    }
}

/// <summary>
/// <c>vblora-torch check</c>: loss and every trainable gradient of our training graph against LibTorch autograd on the
/// same model, initial values and batch, for each pooling.
/// </summary>
static class GradientCheck
{
    /// <summary>Compares one pooling's artifacts; returns the rows (loss first).</summary>
    public static IReadOnlyList<TensorAgreement> Compare(DeviceSessions device, MiniLmWeights weights, ReferenceSetup setup, AttentionKind attention, TextWriter log)
    {
        var (ortLoss, ortGradients) = OrtGradients.Run(device, setup);
        var torchSide = TorchTrainer.Create(weights, setup, attention);
        var (torchLoss, torchGradients) = torchSide.Gradients();
        log.WriteLine($"  loss: ours {ortLoss:R}, LibTorch {torchLoss:R}");
        return
        [
            TensorAgreement.Of("loss", [ortLoss], [torchLoss]),
            .. setup.Folder.Manifest.Trainables.Select(t => TensorAgreement.Of(t.Name, ortGradients[t.Name], torchGradients[t.Name])),
        ];
    }

    /// <summary>True when every row is within <paramref name="tolerance"/> and no gradient's support differs.</summary>
    public static bool Passes(IEnumerable<TensorAgreement> rows, double tolerance) =>
        rows.All(r => r.MaxRelative <= tolerance && r.SupportMismatches == 0);

    /// <summary>A Markdown table of <paramref name="rows"/>.</summary>
    public static string Table(IReadOnlyList<TensorAgreement> rows, double tolerance)
    {
        var text = new StringBuilder();
        text.AppendLine("| tensor | elements | max \\|Δ\\| / max \\|torch\\| | ‖Δ‖ / ‖torch‖ | max \\|torch\\| | support mismatches | ≤ " + Format(tolerance) + " |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---|");
        foreach (var r in rows)
            text.AppendLine($"| {r.Name} | {r.Elements} | {Format(r.MaxRelative)} | {Format(r.NormRelative)} | {Format(r.ReferenceMax)} | {r.SupportMismatches} | " +
                            (r.MaxRelative <= tolerance && r.SupportMismatches == 0 ? "✅" : "❌") + " |");
        return text.ToString();
    }

    static string Format(double value) => value.ToString("0.00e+0", CultureInfo.InvariantCulture);
}
