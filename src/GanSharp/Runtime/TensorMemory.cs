using static TorchSharp.torch;

namespace GanSharp.Runtime;

/// <summary>
/// Where a CPU tensor's first element lies. TorchSharp 0.107 exposes a storage's base pointer but no element pointer,
/// so the storage offset is added here, for the kernels, the MPI calls and the inference memo alike.
/// </summary>
internal static unsafe class TensorMemory
{
    /// <summary>The address of a float32 tensor's first element.</summary>
    public static float* Floats(Tensor t) => (float*)t.storage<float>().data_ptr() + t.storage_offset();

    /// <summary>The address of a float32 or float64 tensor's first element.</summary>
    public static byte* Bytes(Tensor t) => t.dtype == ScalarType.Float64
        ? (byte*)((double*)t.storage<double>().data_ptr() + t.storage_offset())
        : (byte*)Floats(t);
}
