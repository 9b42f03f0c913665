using System.Reflection;
using TorchSharp;

namespace GanSharp.Runtime;

/// <summary>What the TorchSharp runtime of this process is: versions, threads, device.</summary>
public sealed record TorchEnvironment(
    string TorchSharpVersion,
    string LibTorchVersion,
    int IntraOpThreads,
    int InteropThreads,
    string Device,
    bool AllocatorTuned,
    string NativeLibraryPath)
{
    /// <summary>Loads the native libraries (by creating a tensor) and reads their facts.</summary>
    public static TorchEnvironment Probe()
    {
        using (var t = torch.zeros(1)) { }
        var tsAssembly = typeof(torch).Assembly;
        string tsVersion = tsAssembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? tsAssembly.GetName().Version?.ToString() ?? "unknown";
        int plus = tsVersion.IndexOf('+', StringComparison.Ordinal);
        if (plus > 0) tsVersion = tsVersion[..plus];
        string native = Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so");
        if (!File.Exists(native))
            native = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        return new TorchEnvironment(
            tsVersion,
            LibTorchVersionOf(tsVersion),
            torch.get_num_threads(),
            torch.get_num_interop_threads(),
            torch.cuda.is_available() ? "cuda" : "cpu",
            NativeSetup.AllocatorTuned,
            File.Exists(native) ? native : "(not found next to the application)");
    }

    // TorchSharp pins one libtorch per release and does not expose it at run time.
    private static string LibTorchVersionOf(string torchSharpVersion) =>
        torchSharpVersion.StartsWith("0.107", StringComparison.Ordinal) ? "2.10.0 (cpu)" : "see the TorchSharp release notes";
}
