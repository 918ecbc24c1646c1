using VbLoraOrt.Contracts.Artifacts;

namespace VbLoraOrt.Adapters;

/// <summary>
/// One target's low-rank factors as numbers: the adapter adds <c>(x·Aᵀ)·Bᵀ</c>, i.e. <c>ΔW_torch = B·A</c>.
/// </summary>
/// <param name="Module">The target layer.</param>
/// <param name="Rank">r.</param>
/// <param name="A">Row-major <c>[r, in]</c>.</param>
/// <param name="B">Row-major <c>[out, r]</c>.</param>
public sealed record LowRankFactors(LinearModule Module, int Rank, float[] A, float[] B)
{
    /// <summary>
    /// <c>B·A</c>, row-major <c>[out, in]</c> (torch's <c>Linear.weight</c> layout), accumulated in double.
    /// </summary>
    public float[] DeltaOutIn()
    {
        int input = Module.InFeatures, output = Module.OutFeatures;
        var delta = new float[(long)output * input];
        for (int o = 0; o < output; o++)
            for (int i = 0; i < input; i++)
            {
                double sum = 0;
                for (int k = 0; k < Rank; k++)
                    sum += (double)B[(long)o * Rank + k] * A[(long)k * input + i];
                delta[(long)o * input + i] = (float)sum;
            }
        return delta;
    }
}
