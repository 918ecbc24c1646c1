using Onnx;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Adapters.Merging;

/// <summary>
/// Folds trained adapters into the base weights: each target's weight becomes <c>W + ΔW</c>, with
/// <c>ΔW = (B·A)ᵀ</c> for an <c>[in, out]</c> MatMul weight and <c>B·A</c> for a Gemm transB=1 <c>[out, in]</c>
/// weight (read directly, or through a <c>Transpose</c> for a MatMul). The merged model has the base's nodes, ops, inputs, outputs and initializer shapes: zero inference
/// overhead.
/// <para>
/// A weight that other nodes also read (tied embeddings, a weight reused by another MatMul) is not changed for
/// them: the adapted node gets a merged copy under a new initializer name (<c>&lt;module path&gt;.weight</c>, made
/// unique), and the others keep the original. The node multiset is unchanged; the model then holds one more
/// initializer of the weight's shape. When every reader of a shared weight is a target, the last one merges
/// in place.
/// </para>
/// </summary>
public static class AdapterMerger
{
    /// <summary>Returns a new model with every factor folded into its module's weight; the base is not modified.</summary>
    /// <param name="baseModel">The model the adapter was planned on (without the adapter subgraph).</param>
    /// <param name="factors">Per target, A and B (e.g. from <see cref="IAdapterMethod.ComputeFactors"/>).</param>
    /// <exception cref="AdapterException">A target does not match the model (the message names it).</exception>
    public static OnnxModel Merge(OnnxModel baseModel, IReadOnlyList<LowRankFactors> factors)
    {
        ArgumentNullException.ThrowIfNull(baseModel);
        ArgumentNullException.ThrowIfNull(factors);
        foreach (var group in factors.GroupBy(f => f.Module.Path, StringComparer.Ordinal).Where(g => g.Count() > 1))
            throw new AdapterException($"{group.Key}: {group.Count()} sets of factors were given for this module; merge each module once.");
        OnnxModel merged = baseModel.Clone();
        GraphProto graph = merged.Graph;
        var names = new UniqueNames(graph);
        var readers = CountReaders(graph);
        foreach (var f in factors)
        {
            LinearModule module = f.Module;
            var (_, reader, slot) = TargetChecks.Locate(graph, module);
            TensorProto weight = graph.Initializer.First(t => t.Name == module.WeightName);
            float[] values = merged.Tensors.ReadFloats(weight);
            AddDelta(values, f);
            var updated = Tensors.Float(weight.Name, weight.Dims.ToArray(), values);
            if (readers[weight.Name] > 1)
            {
                // Shared: the adapted node reads a merged copy; the other readers keep the original.
                readers[weight.Name]--;
                updated.Name = names.Fresh($"{module.Path}.weight");
                reader.Input[slot] = updated.Name;
                graph.Initializer.Add(updated);
            }
            else
            {
                graph.Initializer[graph.Initializer.IndexOf(weight)] = updated;
            }
        }
        return merged;
    }

    /// <summary>Adds <c>ΔW</c> to <paramref name="weight"/> in the module's layout.</summary>
    static void AddDelta(float[] weight, LowRankFactors f)
    {
        float[] delta = f.DeltaOutIn();                                       // [out, in]
        int input = f.Module.InFeatures, output = f.Module.OutFeatures;
        if (f.Module.Layout == WeightLayout.OutIn)
        {
            for (long i = 0; i < delta.LongLength; i++)
                weight[i] += delta[i];
            return;
        }
        for (int o = 0; o < output; o++)                                      // weight [in, out] += deltaᵀ
            for (int i = 0; i < input; i++)
                weight[(long)i * output + o] += delta[(long)o * input + i];
    }

    // Readers of each value: node inputs (counted per occurrence, subgraphs of If/Loop/Scan included) and graph outputs.
    static Dictionary<string, int> CountReaders(GraphProto graph)
    {
        var readers = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var output in graph.Output)
            readers[output.Name] = readers.GetValueOrDefault(output.Name) + 1;
        CountNodeInputs(graph, readers);
        return readers;
    }

    static void CountNodeInputs(GraphProto graph, Dictionary<string, int> readers)
    {
        foreach (var node in graph.Node)
        {
            foreach (string name in node.Input)
                readers[name] = readers.GetValueOrDefault(name) + 1;
            foreach (var attribute in node.Attribute)
            {
                if (attribute.G is { } body)
                    CountNodeInputs(body, readers);
                foreach (var branch in attribute.Graphs)
                    CountNodeInputs(branch, readers);
            }
        }
    }
}
