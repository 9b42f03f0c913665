using System.Diagnostics;

namespace GanSharp.Runtime;

/// <summary>
/// Starts the CLI and the benchmarks on tcmalloc (Debian: <c>apt-get install libtcmalloc-minimal4</c>) when it is
/// installed, through the restart that <see cref="GcQuiet"/> already does. Why: libtorch allocates every tensor
/// with malloc; glibc's heap, told to keep freed memory (<see cref="NativeSetup.TuneAllocator"/>, which saves
/// ~12 µs per page fault on these VMs), fragments as tensor sizes vary, and the peak creeps up iteration after
/// iteration. Measured on SPADE training, 2 threads, same code: peak RSS 1,250 → 1,110 MB at crop 128 / ngf 32 and
/// ~4,200 → 3,270 MB at crop 256 / ngf 64, at equal speed; jemalloc gave 1,145 and 3,518 MB.
/// <c>GANSHARP_MALLOC=glibc</c> keeps glibc's malloc.
/// </summary>
public static class NativeAllocator
{
    /// <summary>Environment variable that keeps glibc's malloc when set to <c>glibc</c>.</summary>
    public const string Variable = "GANSHARP_MALLOC";

    private static readonly string[] Candidates =
    [
        "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4",
        "/usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4",
        "/usr/lib64/libtcmalloc_minimal.so.4",
        "/usr/lib/libtcmalloc_minimal.so.4",
    ];

    /// <summary>tcmalloc's path when it is installed and wanted, else null.</summary>
    public static string? Preferred()
    {
        if (!OperatingSystem.IsLinux()) return null;
        if (string.Equals(Environment.GetEnvironmentVariable(Variable), "glibc", StringComparison.OrdinalIgnoreCase)) return null;
        return Candidates.FirstOrDefault(File.Exists);
    }

    /// <summary>
    /// Preloads tcmalloc into the process <paramref name="psi"/> starts, keeping every page it gets (release rate 0,
    /// the same trade as glibc's tuning), unless the user preloads something already.
    /// </summary>
    public static void ApplyTo(ProcessStartInfo psi)
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("LD_PRELOAD"))) return;
        if (Preferred() is not { } path) return;
        psi.Environment["LD_PRELOAD"] = path;
        psi.Environment["TCMALLOC_RELEASE_RATE"] = "0";
    }

    /// <summary>Which malloc this process runs on, for <c>doctor --env</c> and the benchmarks.</summary>
    public static string Current()
    {
        try
        {
            if (OperatingSystem.IsLinux() && File.ReadAllText("/proc/self/maps").Contains("libtcmalloc", StringComparison.Ordinal))
                return "tcmalloc (keeps freed pages)";
        }
        catch (IOException)
        {
        }
        if (NativeSetup.AllocatorTuned) return "glibc (tuned: mmap_max 0, trim_threshold max)";
        return Preferred() is null && OperatingSystem.IsLinux()
            ? "glibc (apt-get install libtcmalloc-minimal4 lowers peak memory by 10-20%)"
            : "glibc";
    }
}
