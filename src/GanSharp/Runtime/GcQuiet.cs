using System.Diagnostics;
using System.Runtime;

namespace GanSharp.Runtime;

/// <summary>
/// Keeps .NET garbage collections, and with them the finalizer thread, out of training and synthesis iterations.
/// </summary>
/// <remarks>
/// TorchSharp 0.107 turns every <c>double</c> argument (a leaky-ReLU slope, Adam's betas, <c>x.add(1)</c>) into a
/// temporary <c>Scalar</c>, reads its native handle and calls libtorch without keeping the temporary alive. When a
/// collection runs meanwhile, the finalizer thread frees the native Scalar while libtorch still reads it. Seen here as
/// "Expected false to be true ... toFloat" (Scalar.h:140) in <c>leaky_relu</c> or <c>gamma.add(1)</c>, and as slopes or
/// step sizes read from freed memory. No TorchSharp version served here fixes it.
/// <para>
/// Only another thread can start a collection while this one is inside libtorch, and the data loader's workers do:
/// they decode images. Traced with the runtime's GC events, the demo's loader started a gen0 collection 0.7 s into the
/// iteration after every checkpoint save (the save's large arrays had started gen2 collections and shrunk the gen0
/// budget), whatever the gen0 budget was set to. So every iteration (<see cref="Iteration"/>) collects first, waits for
/// the finalizers, and then runs in a no-GC region of <see cref="RegionBytes"/>, several times what an iteration
/// allocates in managed memory (~12 MB in the demo); the region ends with the iteration, so saves and sample pages
/// collect as usual. Measured over 3 demo minutes: no collection from another thread (before: one after each save),
/// resident memory +30 to +100 MB, collection pauses 4 ms per iteration. The region stayed open across saves in an
/// earlier attempt, and resident memory then kept the save's peak (1.3 GB instead of 0.8); <see cref="AfterBulkWrite"/>
/// now hands that back after each save. The CLI also starts with a 512 MB gen0 budget (<see cref="Gen0SizeVariable"/>)
/// and a 64 MB large-object threshold (Directory.Build.props), which make collections rare outside the regions too.
/// </para>
/// </remarks>
public static class GcQuiet
{
    /// <summary>The runtime's start-up setting of the gen0 budget (runtimeconfig.json has no equivalent).</summary>
    public const string Gen0SizeVariable = "DOTNET_GCgen0size";

    /// <summary>512 MB: far above what one iteration allocates in managed memory.</summary>
    public const string Gen0Size = "0x20000000";

    /// <summary>64 MB: what an iteration may allocate in managed memory before the runtime collects after all.</summary>
    public const long RegionBytes = 64L << 20;

    /// <summary>
    /// Collects the garbage of the last iteration, runs its finalizers now (between libtorch calls) and keeps any
    /// collection out until the returned scope ends.
    /// </summary>
    public static QuietScope Iteration()
    {
        // Nested (synthesis inside a training step, or another thread's iteration in tests): the open region already
        // keeps collections out, and only its owner ends it.
        if (GCSettings.LatencyMode == GCLatencyMode.NoGCRegion) return new QuietScope(owner: false);
        GC.Collect(0, GCCollectionMode.Forced, blocking: true);
        GC.WaitForPendingFinalizers();
        try
        {
            return new QuietScope(owner: GC.TryStartNoGCRegion(RegionBytes));
        }
        catch (InvalidOperationException)
        {
            // Another thread opened a region since the check above (tests run in parallel): that one holds.
            return new QuietScope(owner: false);
        }
    }

    /// <summary>
    /// Returns the memory a checkpoint save or another bulk write took in managed arrays to the system: without it the
    /// process keeps the save's peak as resident memory.
    /// </summary>
    public static void AfterBulkWrite()
    {
        EndRegion();
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
    }

    private static void EndRegion()
    {
        if (GCSettings.LatencyMode != GCLatencyMode.NoGCRegion) return;
        try
        {
            GC.EndNoGCRegion();
        }
        catch (InvalidOperationException)
        {
            // The region ended early (the iteration allocated more than RegionBytes): nothing to end.
        }
    }

    /// <summary>Ends an iteration's no-GC region, if this scope started it.</summary>
    public readonly struct QuietScope(bool owner) : IDisposable
    {
        public void Dispose()
        {
            if (owner) EndRegion();
        }
    }

    /// <summary>
    /// True when this process should start again with the large gen0 budget: it is not set yet and
    /// <c>GANSHARP_NO_RELAUNCH</c> is not 1.
    /// </summary>
    public static bool ShouldRelaunch() =>
        Environment.GetEnvironmentVariable(Gen0SizeVariable) is null && Environment.GetEnvironmentVariable("GANSHARP_NO_RELAUNCH") != "1";

    /// <summary>
    /// Runs this program again with the same arguments and the large gen0 budget, sharing the console, and returns
    /// its exit code. Ctrl+C reaches both processes; this one leaves it to the child (which saves a checkpoint).
    /// </summary>
    public static int Relaunch(string[] args, string entryAssemblyPath)
    {
        var psi = SelfStartInfo(entryAssemblyPath, args);
        psi.Environment[Gen0SizeVariable] = Gen0Size;
        NativeAllocator.ApplyTo(psi);
        Console.CancelKeyPress += (_, e) => e.Cancel = true;
        using var child = Process.Start(psi) ?? throw new InvalidOperationException($"{psi.FileName} could not be started");
        child.WaitForExit();
        return child.ExitCode;
    }

    /// <summary>
    /// How to start this program again with <paramref name="args"/>. Started as <c>dotnet x.dll</c>, the process is the
    /// dotnet host, so the entry assembly is handed to it again.
    /// </summary>
    public static ProcessStartInfo SelfStartInfo(string entryAssemblyPath, IEnumerable<string> args)
    {
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var psi = new ProcessStartInfo(self) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") psi.ArgumentList.Add(entryAssemblyPath);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }
}
