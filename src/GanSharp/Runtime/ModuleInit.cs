using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace GanSharp.Runtime;

internal static class ModuleInit
{
    // Every entry point that builds a GanSharp network loads this assembly first, so oneDNN convolutions are off
    // before our first convolution even in hosts we do not control (test runners, notebooks).
    // See NativeSetup.DisableOneDnnConvolutions.
    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries",
        Justification = "Wrong convolution results otherwise; the switch must be set before our first convolution.")]
    internal static void Run()
    {
        // GANSHARP_ONEDNN=1 keeps oneDNN on, for benchmarks that measure what the switch costs.
        if (Environment.GetEnvironmentVariable("GANSHARP_ONEDNN") != "1") NativeSetup.DisableOneDnnConvolutions();
    }
}
