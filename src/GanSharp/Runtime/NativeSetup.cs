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
