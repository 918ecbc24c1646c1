namespace VbLoraOrt.Runtime.Runs;

/// <summary>
/// What a run does when the numerical guard rejects a step (<see cref="NonFiniteAction"/>): stop at once, or skip the
/// batch — but not forever: once a whole epoch of batches in a row has been rejected the parameters can no longer
/// change, so under <c>--max-steps</c> the run would loop without end; it stops instead.
/// </summary>
sealed class RejectionPolicy(NonFiniteAction action)
{
    int _inARow;

    /// <summary>Steps rejected so far.</summary>
    public int Count { get; private set; }

    /// <summary>An applied step ends a run of rejections.</summary>
    public void Applied() => _inARow = 0;

    /// <summary>Counts a rejected step; returns why the run must stop, or null to skip the batch and go on.</summary>
    public string? Reject(string reason, int batchesPerEpoch)
    {
        Count++;
        _inARow++;
        if (action == NonFiniteAction.Stop)
            return reason;
        return _inARow >= batchesPerEpoch
            ? $"the last {_inARow} batches (a whole epoch) were all rejected as non-finite; the parameters cannot recover"
            : null;
    }
}
