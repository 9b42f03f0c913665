using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using GanSharp.Runtime;

namespace GanSharp.Tests;

internal static class TestProcessSetup
{
    // Before any test touches a convolution, also those that never load GanSharp.Core: libtorch's oneDNN
    // convolutions give intermittently wrong results on these machines (NativeSetup.DisableOneDnnConvolutions).
    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255", Justification = "Process-wide native setting that must precede the first convolution.")]
    internal static void Run() => NativeSetup.DisableOneDnnConvolutions();
}
