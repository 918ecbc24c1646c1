namespace VbLoraOrt.Runtime.Sessions;

/// <summary>Where sessions run and where the training state lives.</summary>
public enum ExecutionDevice
{
    /// <summary>ONNX Runtime's CPU execution provider (every build).</summary>
    Cpu,

    /// <summary>The CUDA execution provider (needs the Gpu package, CUDA 13, cuDNN 9 and a GPU).</summary>
    Cuda,
}
