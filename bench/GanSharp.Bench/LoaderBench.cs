using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using GanSharp.Data;

namespace GanSharp.Bench;

/// <summary>
/// Loader throughput on generated 320x240 scenes with the reference's training defaults (resize_and_crop, load 286,
/// crop 256, instance maps): time per preprocessing stage on one thread, then whole epochs through the prefetching
/// loader (tensors included) with a consumer that either takes batches as fast as it can or busy-computes for a
/// fixed time per batch, as a CPU training step would. Args: [images=48] [compute-ms=50].
/// </summary>
public static class LoaderBench
{
    public static int Run(string[] args)
    {
        int images = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 48;
        int computeMs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 50;
        string root = Path.Combine(Path.GetTempPath(), "gansharp-loaderbench-" + Environment.ProcessId);
        try
        {
            var sw = Stopwatch.StartNew();
            var info = SyntheticDataset.Generate(root, new SyntheticOptions
            {
                TrainCount = images, ValCount = 0, Width = 320, Height = 240,
                Seed = 1
            });
            Console.WriteLine($"generated {images} scenes of 320x240 in {sw.Elapsed.TotalSeconds:F2} s ({Environment.ProcessorCount} cores, load "
                + $"average {LoadAverage()})");
            var baseOptions = info.TrainOptions() with { Seed = 1 };
            var ds = SpadeDataset.Open(baseOptions, cacheDirectory: "");
            Stages(ds);
            Console.WriteLine();
            Console.WriteLine("workers batch compute/batch   images/s   consumer waiting   worker CPU ms/image");
            foreach (int batch in new[] { 1, 4 })
                foreach (int compute in new[] { 0, computeMs })
                {
                    var loader = new SpadeLoader(SpadeDataset.Open(baseOptions with { BatchSize = batch, NumWorkers = 2 }, cacheDirectory: ""));
                    // A first epoch warms the JIT and the allocator; the second one is measured.
                    Epoch(loader, 0, compute);
                    var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                    double consumer0 = ThreadCpuMs();
                    var stats = Epoch(loader, 1, compute);
                    // Process CPU minus the consumer thread's: what the workers spent, whatever the contention.
                    double cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds - (ThreadCpuMs() - consumer0);
                    Console.WriteLine($"{2,7} {batch,5} {compute,10} ms {stats.SamplesPerSecond,10:F1} {stats.WaitFraction,17:P0} "
                        + $"{cpuMs / stats.Samples,21:F1}");
                }
            return 0;
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }

    private static LoaderStats Epoch(SpadeLoader loader, int epoch, int computeMs)
    {
        foreach (var batch in loader.ReadEpoch(new LoaderPosition(epoch, 0)))
        {
            using (batch)
            {
                if (computeMs > 0) Spin(computeMs);
            }
        }
        return loader.LastStats;
    }

    /// <summary>Busy work, not sleep: a CPU training step occupies a core, which the loader threads then lack.</summary>
    private static void Spin(int ms)
    {
        long end = Stopwatch.GetTimestamp() + ms * Stopwatch.Frequency / 1000;
        double x = 1;
        while (Stopwatch.GetTimestamp() < end) x = Math.Sqrt(x + 1);
        GC.KeepAlive(x);
    }

    private static void Stages(SpadeDataset ds)
    {
        int n = Math.Min(ds.Count, 16);
        var p = ds.Pairs;
        // Wall time and this thread's CPU time: on a shared, overloaded machine only the second is stable.
        string Time(Action<int> a)
        {
            a(0);
            var sw = Stopwatch.StartNew();
            double cpu0 = ThreadCpuMs();
            for (int i = 0; i < n; i++) a(i);
            return $"{sw.Elapsed.TotalMilliseconds / n,7:F2} wall {(ThreadCpuMs() - cpu0) / n,7:F2} cpu";
        }
        var photo = ImageIO.ReadRgb(p[0].Image);
        var plan = Transforms.Plan(ds.Options, 320, 240, new DeterministicRng(1), "bench");
        Console.WriteLine("one thread, ms per sample:");
        Console.WriteLine($"  label PNG decode      {Time(i => LabelIO.Read(p[i].Label)),7}");
        Console.WriteLine($"  instance PNG decode   {Time(i => LabelIO.Read(p[i].Instance!)),7}");
        Console.WriteLine($"  photo decode (Skia)   {Time(i => ImageIO.ReadRgb(p[i].Image)),7}");
        Console.WriteLine($"  bicubic 320x240->286  {Time(_ => Resample.Bicubic(photo, 286, 286)),7}");
        Console.WriteLine($"  whole sample (Load)   {Time(i => ds.Load(i, 0)),7}");
        var loader = new SpadeLoader(ds);
        var sample = new[] { ds.Load(0, 0) };
        Console.WriteLine($"  collate to tensors    {Time(_ => loader.Collate(sample, default, default).Dispose()),7}  (consumer thread)");
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out Timespec ts);

    private static double ThreadCpuMs()
    {
        const int ClockThreadCpuTimeId = 3;
        if (ClockGetTime(ClockThreadCpuTimeId, out var ts) != 0) return double.NaN;
        return ts.Seconds * 1000.0 + ts.Nanoseconds / 1e6;
    }

    internal static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
