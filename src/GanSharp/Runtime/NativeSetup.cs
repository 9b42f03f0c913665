using System.Runtime.InteropServices;

namespace GanSharp.Runtime;

/// <summary>
/// Process-wide settings that must run first in every entry point (CLI, benchmarks).
/// </summary>
public static partial class NativeSetup
{
    private const int M_TRIM_THRESHOLD = -1;
    private const int M_MMAP_MAX = -4;

    [LibraryImport("libc.so.6", EntryPoint = "mallopt")]
    private static partial int Mallopt(int param, int value);

    [LibraryImport("libc.so.6", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    /// <summary>
    /// Hands the memory glibc keeps after frees back to the kernel, so that resident memory is what is live. The plan
    /// probes call it between building the networks and training: with <see cref="TuneAllocator"/> the transient
    /// copies of construction otherwise stay resident and hide how training memory grows with image size.
    /// </summary>
    public static void TrimAllocator()
    {
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            _ = MallocTrim(0);
        }
        catch (DllNotFoundException)
        {
        }
        catch (EntryPointNotFoundException)
        {
        }
    }

    /// <summary>
    /// Switches libtorch's oneDNN (mkldnn) convolutions off, so convolutions take ATen's im2col + GEMM path, as
    /// PyTorch's <c>torch.backends.mkldnn.enabled = False</c> does. On these AVX-512 VMs libtorch 2.10's oneDNN
    /// float32 convolutions intermittently return wrong values or NaN (measured: the input-gradient of a 3x3 conv
    /// changed from call to call with identical inputs, with 1 or 2 threads; capping oneDNN at AVX2 moved the fault
    /// to forwards of 4x4 stride-2 convs); the ATen path matches float64 every time. TorchSharp does not expose the
    /// switch, so this calls <c>at::globalContext().setUserEnabledMkldnn(false)</c> through libtorch_cpu's exports.
    /// It takes effect for every later convolution.
    /// </summary>
    /// <returns>True when the switch was found and set.</returns>
    public static unsafe bool DisableOneDnnConvolutions()
    {
        if (!OperatingSystem.IsLinux()) return false;
        if (!NativeLibrary.TryLoad("libtorch_cpu.so", typeof(TorchSharp.torch).Assembly, null, out var lib))
        {
            string flat = Path.Combine(AppContext.BaseDirectory, "libtorch_cpu.so");
            string nested = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libtorch_cpu.so");
            if (!NativeLibrary.TryLoad(File.Exists(flat) ? flat : nested, out lib)) return false;
        }
        if (!NativeLibrary.TryGetExport(lib, "_ZN2at13globalContextEv", out var ctxFn)
            || !NativeLibrary.TryGetExport(lib, "_ZN2at7Context20setUserEnabledMkldnnEb", out var setFn)
            || !NativeLibrary.TryGetExport(lib, "_ZNK2at7Context17userEnabledMkldnnEv", out var getFn))
            return false;
        // Member functions under the x86-64 SysV ABI: `this` is the first argument.
        var context = ((delegate* unmanaged<IntPtr>)ctxFn)();
        ((delegate* unmanaged<IntPtr, byte, void>)setFn)(context, 0);
        OneDnnDisabled = ((delegate* unmanaged<IntPtr, byte>)getFn)(context) == 0;
        // Without oneDNN, libtorch tries NNPACK for every convolution; on these CPUs NNPACK cannot initialise and
        // prints a warning on each try. Turning it off gives the same ATen kernels without the noise.
        if (NativeLibrary.TryGetExport(lib, "_ZN2at7Context20setUserEnabledNNPACKEb", out var nnpackFn))
            ((delegate* unmanaged<IntPtr, byte, void>)nnpackFn)(context, 0);
        return OneDnnDisabled;
    }

    /// <summary>Whether <see cref="DisableOneDnnConvolutions"/> succeeded in this process.</summary>
    public static bool OneDnnDisabled { get; private set; }

    /// <summary>
    /// Stops glibc from handing every large block back to the kernel. With glibc's defaults each tensor above the
    /// mmap threshold is a fresh mmap whose pages fault in again (~10 µs each on these VMs): a 3x3 conv on
    /// 1x64x256x256 forward+backward took 212 ms instead of 57 ms. The price is ~150-400 MB more peak RSS.
    /// Worker threads still mmap blocks above 64 MiB; only GLIBC_TUNABLES=glibc.malloc.arena_max=1 set before the
    /// process starts fixes that.
    /// </summary>
    /// <returns>True when the options were applied (glibc present).</returns>
    public static bool TuneAllocator()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            int a = Mallopt(M_MMAP_MAX, 0);
            int b = Mallopt(M_TRIM_THRESHOLD, int.MaxValue);
            AllocatorTuned = a == 1 && b == 1;
            return AllocatorTuned;
        }
        catch (DllNotFoundException)
        {
            return false;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Whether <see cref="TuneAllocator"/> succeeded in this process.</summary>
    public static bool AllocatorTuned { get; private set; }
}
