using Onnx;
using VbLoraOrt.Contracts.Artifacts;
using VbLoraOrt.Onnx;
using static VbLoraOrt.Onnx.Attr;

namespace VbLoraOrt.Adapters;

/// <summary>
/// Adds an adapter to every target of a model, for any <see cref="IAdapterMethod"/>: the method's composition
/// subgraph computes each target's A and B once, from the parameters only, and beside each target the injector
/// adds <c>y' = y + (x·Aᵀ)·Bᵀ</c>, where <c>y</c> is <see cref="LinearModule.OutputName"/> (after the bias).
/// The node that produced <c>y</c> now writes a fresh value and the sum takes the name <c>y</c>, so every
/// consumer and graph output of <c>y</c> sees the adapted value without being edited.
/// Node order stays topological: the composition comes first, each target's nodes right after the node that
/// produced its output.
/// </summary>
public static class AdapterInjector
{
    /// <summary>Oldest default-domain opset the emitted subgraphs are valid in (TopK takes K as an input from 10, largest/sorted from 11).</summary>
    public const long MinimumOpset = 11;

    /// <summary>
    /// An adapted inference model: the parameters are initializers holding <paramref name="values"/>
    /// (by default the method's <see cref="IAdapterMethod.InitialValues"/>).
    /// </summary>
    /// <exception cref="AdapterException">A target does not match the model or cannot be adapted; a value is missing or mis-sized.</exception>
    public static InjectedModel InjectWithInitializers(
        OnnxModel baseModel, IAdapterMethod method, IReadOnlyList<LinearModule> targets,
        IReadOnlyDictionary<string, float[]>? values = null) =>
        Inject(baseModel, method, targets, plan => plan.Parameters.Select(p => p.Name), (graph, plan) =>
        {
            var chosen = values ?? method.InitialValues(plan);
            plan.CheckValues(chosen);
            foreach (var p in plan.Parameters)
                graph.Initializer.Add(Tensors.Float(p.Name, p.Shape, chosen[p.Name]));
        });

    /// <summary>
    /// A model for training: every parameter is a float graph input of its static shape, named as in
    /// <see cref="AdapterPlan.Parameters"/>, fed by the runner. <paramref name="form"/> says how the factors meet each
    /// target (default: the activation form).
    /// </summary>
    /// <exception cref="AdapterException">A target does not match the model or cannot be adapted.</exception>
    public static InjectedModel InjectWithGraphInputs(OnnxModel baseModel, IAdapterMethod method, IReadOnlyList<LinearModule> targets,
        TargetForm form = TargetForm.Activation) =>
        Inject(baseModel, method, targets, plan => plan.Parameters.Select(p => p.Name), (graph, plan) =>
        {
            foreach (var p in plan.Parameters)
                graph.Input.Add(FloatInput(p.Name, p.Shape));
        }, wiring: form == TargetForm.Weight ? WireWeight : null);

    /// <summary>
    /// A model whose composition reads the adapter in a form of the caller's choosing (a serving model: the stored
    /// form as graph inputs): <paramref name="bindInputs"/> adds the values named <paramref name="inputNames"/> to
    /// the graph and <paramref name="emitFactors"/> composes every target's A and B from them. <paramref name="wiring"/>,
    /// when given, may apply a target's factors in another form than <c>y + (x·Aᵀ)·Bᵀ</c>.
    /// </summary>
    /// <exception cref="AdapterException">A target does not match the model or cannot be adapted; a name is taken.</exception>
    public static InjectedModel InjectWithComposition(OnnxModel baseModel, IAdapterMethod method, IReadOnlyList<LinearModule> targets,
        IReadOnlyList<string> inputNames, Action<GraphProto> bindInputs, Func<AdapterPlan, GraphEmitter, IReadOnlyList<FactorValues>> emitFactors,
        TargetWiring? wiring = null)
    {
        ArgumentNullException.ThrowIfNull(inputNames);
        ArgumentNullException.ThrowIfNull(bindInputs);
        ArgumentNullException.ThrowIfNull(emitFactors);
        return Inject(baseModel, method, targets, _ => inputNames, (graph, _) => bindInputs(graph), emitFactors, wiring);
    }

    static InjectedModel Inject(OnnxModel baseModel, IAdapterMethod method, IReadOnlyList<LinearModule> targets,
        Func<AdapterPlan, IEnumerable<string>> boundNames, Action<GraphProto, AdapterPlan> bindParameters,
        Func<AdapterPlan, GraphEmitter, IReadOnlyList<FactorValues>>? emitFactors = null, TargetWiring? wiring = null)
    {
        ArgumentNullException.ThrowIfNull(baseModel);
        ArgumentNullException.ThrowIfNull(method);
        if (baseModel.Opset < MinimumOpset)
            throw new AdapterException(
                $"{baseModel.SourcePath ?? "the model"} imports opset {baseModel.Opset}; adapters need opset {MinimumOpset} or newer (TopK with a K input). Re-export the model with opset {MinimumOpset}+.");
        AdapterPlan plan = method.Plan(targets);
        OnnxModel model = baseModel.Clone();
        GraphProto graph = model.Graph;
        var producers = TargetProducers(graph, plan.Targets);

        var names = new UniqueNames(graph);
        foreach (string name in boundNames(plan))
        {
            if (names.IsUsed(name))
                throw new AdapterException(
                    $"the model already has a value named '{name}'; was an adapter injected already? Inject into the base model.");
            names.Reserve(name);
        }
        bindParameters(graph, plan);

        var original = graph.Node.ToList();
        var compose = new GraphEmitter(graph, method.Name, names);
        IReadOnlyList<FactorValues> factors = (emitFactors ?? method.EmitFactors)(plan, compose);
        var besideTarget = new Dictionary<NodeProto, List<NodeProto>>(ReferenceEqualityComparer.Instance); // protobuf Equals is by value
        foreach (var f in factors)
        {
            var wire = new GraphEmitter(graph, $"{method.Name}/{f.Module.Path}", names);
            NodeProto producer = wiring?.Invoke(f, compose, wire) ?? WireActivation(producers[f.Module.Path], f, compose, wire);
            if (besideTarget.TryGetValue(producer, out var earlier))
                earlier.AddRange(wire.Emitted); // one node producing several targets' outputs
            else
                besideTarget[producer] = wire.Emitted;
        }
        Reorder(graph, original, besideTarget);
        return new InjectedModel(model, plan, factors);
    }

    // y' = y + (x·Aᵀ)·Bᵀ beside the node producing y, which now writes a fresh value; returns that node.
    static NodeProto WireActivation(NodeProto producer, FactorValues f, GraphEmitter compose, GraphEmitter wire)
    {
        // Transposes depend only on parameters: they belong to the composition, run once per step.
        string aT = compose.Op("Transpose", [f.A], Ints("perm", 1, 0));                   // [in, r]
        string bT = compose.Op("Transpose", [f.B], Ints("perm", 1, 0));                   // [r, out]
        int slot = producer.Output.IndexOf(f.Module.OutputName);
        string baseOutput = wire.Names.Fresh($"{f.Module.OutputName}_base");
        producer.Output[slot] = baseOutput;
        string down = wire.Op("MatMul", [f.Module.InputName, aT]);                       // [.., r]
        string delta = wire.Op("MatMul", [down, bT]);                                    // [.., out]
        wire.OpNamed("Add", [baseOutput, delta], [f.Module.OutputName]);
        return producer;
    }

    /// <summary>
    /// The largest target <see cref="TargetForm.Weight"/> applies to its weight, as the token count above which that form
    /// costs fewer FLOP than the activation form, <c>in·out / (in + out)</c> (384 × 384: 192; 2048 × 2048: 1024). A
    /// training graph keeps the adapted weight from the forward to the backward, <c>in·out</c> floats per target; past
    /// this size that memory grows with the square of the width while a batch of 16 × 64 tokens no longer repays it.
    /// </summary>
    public const long WeightFormMaxCrossoverTokens = 1024;

    // x·(W + Aᵀ·Bᵀ): the adapted weight belongs to the composition (it reads only parameters and the frozen W) and the
    // target's MatMul reads it in W's place; nothing runs beside the target. Null (the activation form) when the
    // weight is not read as is by a MatMul, or is larger than WeightFormMaxCrossoverTokens allows.
    static NodeProto? WireWeight(FactorValues f, GraphEmitter compose, GraphEmitter wire)
    {
        var module = f.Module;
        var node = wire.Graph.Node.First(n => n.Name == module.NodeName); // the injector has located every target
        if (module.OpType != "MatMul" || module.Layout != WeightLayout.InOut || node.Input[1] != module.WeightName
            || (long)module.InFeatures * module.OutFeatures / (module.InFeatures + module.OutFeatures) > WeightFormMaxCrossoverTokens)
            return null;
        node.Input[1] = AdaptedWeight(f, compose);
        return node;
    }

    /// <summary>The adapted weight <c>W' = W + Aᵀ·Bᵀ</c> <c>[in, out]</c> of a target whose weight is stored <c>[in, out]</c>, emitted by <paramref name="g"/>.</summary>
    public static string AdaptedWeight(FactorValues target, GraphEmitter g)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(g);
        string aT = g.Op("Transpose", [target.A], Ints("perm", 1, 0));
        string bT = g.Op("Transpose", [target.B], Ints("perm", 1, 0));
        return g.Op("Add", [target.Module.WeightName, g.Op("MatMul", [aT, bT])]);
    }

    // Composition first (it reads only parameters), then the base nodes, each target's nodes after its producer.
    static void Reorder(GraphProto graph, List<NodeProto> original, Dictionary<NodeProto, List<NodeProto>> besideTarget)
    {
        var added = new HashSet<NodeProto>(graph.Node.Skip(original.Count), ReferenceEqualityComparer.Instance);
        foreach (var list in besideTarget.Values)
            added.ExceptWith(list);
        var order = new List<NodeProto>(graph.Node.Count);
        order.AddRange(graph.Node.Skip(original.Count).Where(added.Contains));
        foreach (var node in original)
        {
            order.Add(node);
            if (besideTarget.TryGetValue(node, out var wiring))
                order.AddRange(wiring);
        }
        graph.Node.Clear();
        graph.Node.AddRange(order);
    }

    // Checks every target against the graph; returns, per module path, the node producing its output.
    static Dictionary<string, NodeProto> TargetProducers(GraphProto graph, IReadOnlyList<LinearModule> targets)
    {
        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var t in targets)
        {
            TargetChecks.Locate(graph, t);
            producers[t.Path] = graph.Node.FirstOrDefault(n => n.Output.Contains(t.OutputName))
                ?? throw new AdapterException($"{t.Path}: no node produces its output '{t.OutputName}'.");
        }
        return producers;
    }

    static ValueInfoProto FloatInput(string name, long[] shape)
    {
        var dims = new TensorShapeProto();
        foreach (long d in shape)
            dims.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = dims } },
        };
    }
}
