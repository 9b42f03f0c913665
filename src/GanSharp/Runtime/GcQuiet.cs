using System.Diagnostics;

namespace GanSharp.Runtime;

/// <summary>
/// Keeps .NET garbage collections, and with them the finalizer thread, out of training iterations.
/// </summary>
/// <remarks>
/// TorchSharp 0.107 turns every <c>double</c> argument (a leaky-ReLU slope, Adam's betas, <c>x.add(1)</c>) into a
/// temporary <c>Scalar</c>, reads its native handle and calls libtorch without keeping the temporary alive. When a
/// collection runs meanwhile (any thread may start one: the data loader's workers allocate images), the finalizer
/// thread frees the native Scalar while libtorch still reads it. Seen here as "Expected false to be true ... toFloat"
/// (Scalar.h:140) in <c>leaky_relu</c> after ~80 demo iterations, and as slopes or step sizes read from freed memory.
/// No TorchSharp version served here fixes it. GanSharp therefore (1) collects at the start of every iteration and
/// waits for the finalizers, when no libtorch call holds a Scalar, and (2) starts the CLI with a gen0 budget of
/// 512 MB (<see cref="Gen0SizeVariable"/>, read by the runtime only at start-up) and (3) raises the large-object
/// threshold to 64 MB (Directory.Build.props), so that the loader's image arrays count against that budget instead of
/// starting collections of their own: no collection is then due within an iteration. A no-GC region instead of (2)
/// grew the resident memory by ~15 MB per iteration.
/// </remarks>
public static class GcQuiet
{
    /// <summary>The runtime's start-up setting of the gen0 budget (runtimeconfig.json has no equivalent).</summary>
    public const string Gen0SizeVariable = "DOTNET_GCgen0size";

    /// <summary>512 MB: far above what one iteration allocates in managed memory.</summary>
    public const string Gen0Size = "0x20000000";

    /// <summary>Collects the garbage of the last iteration and runs its finalizers now, between libtorch calls.</summary>
    public static void AtIterationStart()
    {
        GC.Collect(0, GCCollectionMode.Forced, blocking: true);
        GC.WaitForPendingFinalizers();
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
