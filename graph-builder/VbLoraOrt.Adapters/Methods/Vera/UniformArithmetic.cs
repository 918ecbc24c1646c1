namespace VbLoraOrt.Adapters.Methods.Vera;

/// <summary>
/// How PyTorch's CPU <c>uniform_</c> kernel rounds <c>x · (to − from) + from</c>; it depends on the instruction set the
/// kernel was compiled for (see <see cref="TorchGenerator"/>).
/// </summary>
public enum UniformArithmetic
{
    /// <summary>One fused multiply-add: PyTorch's AVX2 and AVX-512 CPU kernels, used on any x86-64 CPU with AVX2.</summary>
    Fused,

    /// <summary>Product and sum rounded separately: PyTorch's baseline CPU kernel (<c>ATEN_CPU_CAPABILITY=default</c>).</summary>
    Separate,
}
