using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;
using VbLoraOrt.Onnx;

namespace VbLoraOrt.Runtime.Sessions;

/// <summary>
/// One execution device: creates sessions configured for it, allocates tensors in its memory, and copies
/// between host and device. Owns native resources; dispose it after every session and value made from it.
/// </summary>
/// <remarks>
/// Threading: every session gets its own intra-op pool with spinning turned off
/// (<c>session.intra_op.allow_spinning = 0</c>), unless the process enabled <see cref="SharedThreadPool"/> before
/// touching ONNX Runtime: then every session runs on that one pool. Spinning pools of several sessions steal each
/// other's cores; idle non-spinning pools do not, and the training and optimizer sessions never run at the same time.
/// <para>Host↔device copies go through a one-node Identity session bound with <see cref="OrtIoBinding"/>: the one
/// path that works for every execution provider, CPU included, so tests exercise the CUDA code path on CPU.</para>
/// </remarks>
public sealed class DeviceSessions : IDisposable
{
    const string CudaProvider = "CUDAExecutionProvider";
    const string TransferIn = "x", TransferOut = "y";

    readonly DeviceOptions _options;
    readonly InferenceSession _transfer;
    readonly OrtMemoryInfo? _cudaMemory;
    readonly OrtAllocator _allocator;
    readonly RunOptions _runOptions = new();

    DeviceSessions(DeviceOptions options, InferenceSession transfer, OrtMemoryInfo? cudaMemory, OrtAllocator allocator)
    {
        _options = options;
        _transfer = transfer;
        _cudaMemory = cudaMemory;
        _allocator = allocator;
    }

    /// <summary>The execution device sessions run on.</summary>
    public ExecutionDevice Device => _options.Device;

    /// <summary>Opens <paramref name="options"/>' device, checking it can run a session.</summary>
    /// <exception cref="DeviceUnavailableException">CUDA asked for, but this build or machine cannot provide it.</exception>
    public static DeviceSessions Open(DeviceOptions? options = null)
    {
        options ??= new DeviceOptions();
        options.Validate();
        if (options.Device == ExecutionDevice.Cuda)
            EnsureCudaProviderInBuild();

        InferenceSession? transfer = null;
        OrtMemoryInfo? cudaMemory = null;
        try
        {
            transfer = CreateSession(options, o => new InferenceSession(TransferModel(), o), profiled: false);
            if (options.Device == ExecutionDevice.Cpu)
                return new DeviceSessions(options, transfer, null, OrtAllocator.DefaultInstance);
            cudaMemory = new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, options.DeviceId, OrtMemType.Default);
            return new DeviceSessions(options, transfer, cudaMemory, new OrtAllocator(transfer, cudaMemory));
        }
        catch
        {
            cudaMemory?.Dispose();
            transfer?.Dispose();
            throw;
        }
    }

    /// <summary>Opens the model file at <paramref name="modelPath"/> (external data resolved beside it).</summary>
    /// <exception cref="BadInputException">ONNX Runtime cannot load it: the file is damaged or not a model.</exception>
    public InferenceSession CreateSession(string modelPath)
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        try
        {
            return CreateSession(_options, o => new InferenceSession(modelPath, o));
        }
        catch (OnnxRuntimeException e) when (_options.Device == ExecutionDevice.Cpu)
        {
            throw new BadInputException($"{modelPath}: ONNX Runtime cannot load this model ({e.Message.Trim()}); the file is damaged or was not written by this product.", e);
        }
    }

    /// <summary>Opens a model held in memory (no external data).</summary>
    public InferenceSession CreateSession(byte[] model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return CreateSession(_options, o => new InferenceSession(model, o));
    }

    /// <summary>A float tensor of <paramref name="shape"/> in device memory, contents undefined. Caller disposes.</summary>
    public OrtValue AllocateFloat(long[] shape) =>
        OrtValue.CreateAllocatedTensorValue(_allocator, TensorElementType.Float, shape);

    /// <summary>Copies <paramref name="source"/> (host, shaped like <paramref name="destination"/>) into a device tensor.</summary>
    public void Upload(float[] source, OrtValue destination)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        long[] shape = destination.GetTensorTypeAndShape().Shape;
        long count = ShapeSize(shape);
        if (count != source.Length)
            throw new ArgumentException($"{source.Length} values do not fill a device tensor of shape [{string.Join(",", shape)}] ({count} elements).", nameof(source));
        using var host = OrtValue.CreateTensorValueFromMemory(source, shape);
        Copy(host, destination);
    }

    /// <summary>Copies a device tensor to a new host array.</summary>
    public float[] Download(OrtValue source)
    {
        ArgumentNullException.ThrowIfNull(source);
        long[] shape = source.GetTensorTypeAndShape().Shape;
        var values = new float[ShapeSize(shape)];
        using var host = OrtValue.CreateTensorValueFromMemory(values, shape);
        Copy(source, host);
        return values;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_cudaMemory is not null)
        {
            _allocator.Dispose();
            _cudaMemory.Dispose();
        }
        _transfer.Dispose();
        _runOptions.Dispose();
    }

    void Copy(OrtValue source, OrtValue destination)
    {
        using var binding = _transfer.CreateIoBinding();
        binding.BindInput(TransferIn, source);
        binding.BindOutput(TransferOut, destination);
        _transfer.RunWithBinding(_runOptions, binding);
        binding.SynchronizeBoundOutputs();
    }

    static long ShapeSize(long[] shape) => shape.Aggregate(1L, (a, d) => checked(a * d));

    static InferenceSession CreateSession(DeviceOptions options, Func<SessionOptions, InferenceSession> open, bool profiled = true)
    {
        using var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = options.IntraOpThreads,
            // ORT warnings (e.g. buffer re-use notes) are for ORT developers; errors still surface as exceptions.
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        if (SharedThreadPool.IsEnabled)
            sessionOptions.DisablePerSessionThreads(); // the process-wide pool (SharedThreadPool) runs the session
        sessionOptions.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        sessionOptions.AddSessionConfigEntry("session.inter_op.allow_spinning", "0");
        if (profiled && options.ProfileFilePrefix is { } prefix) // the transfer session's copies are not the work being profiled
        {
            sessionOptions.ProfileOutputPathPrefix = prefix; // before enabling: enabling passes the prefix to ORT
            sessionOptions.EnableProfiling = true;
        }
        if (options.Device == ExecutionDevice.Cpu)
            return open(sessionOptions);
        try
        {
            sessionOptions.AppendExecutionProvider_CUDA(options.DeviceId);
            return open(sessionOptions);
        }
        catch (Exception e) when (e is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
        {
            throw new DeviceUnavailableException(ExecutionDevice.Cuda, $"opening a session on CUDA device {options.DeviceId} failed ({e.Message.Trim()})", e);
        }
    }

    static void EnsureCudaProviderInBuild()
    {
        string[] providers = OrtEnv.Instance().GetAvailableProviders();
        if (!providers.Contains(CudaProvider))
            throw new DeviceUnavailableException(ExecutionDevice.Cuda,
                $"this ONNX Runtime build offers only {string.Join(", ", providers)}");
    }

    /// <summary>x → Identity → y, float of any shape: the host↔device copy.</summary>
    static byte[] TransferModel()
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = "vblora-runtime", Graph = new GraphProto { Name = "device_transfer" } };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        var floatAnyShape = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } };
        model.Graph.Input.Add(new ValueInfoProto { Name = TransferIn, Type = floatAnyShape });
        model.Graph.Output.Add(new ValueInfoProto { Name = TransferOut, Type = floatAnyShape.Clone() });
        var node = new NodeProto { OpType = "Identity", Name = "copy" };
        node.Input.Add(TransferIn);
        node.Output.Add(TransferOut);
        model.Graph.Node.Add(node);
        return OnnxModel.FromProto(model).ToBytesInline();
    }
}
