using System.Diagnostics;
using System.Globalization;
using GanSharp.Data;
using GanSharp.Data.Tools;
using GanSharp.Reporting;

namespace GanSharp.Bench;

/// <summary>
/// `gansharp data audit` at the size the issue names: generated 320x240 scenes (default 10,000 training pairs and
/// 500 test photos), audited cold (no validation cache) with the leakage check, then the HTML report. Generation is
/// timed apart from the audit. Args: [train=10000] [test=500].
/// </summary>
public static class AuditBench
{
    public static int Run(string[] args)
    {
        int train = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10000;
        int test = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 500;
        string root = Path.Combine(Path.GetTempPath(), "gansharp-auditbench-" + Environment.ProcessId);
        try
        {
            var sw = Stopwatch.StartNew();
            var info = SyntheticDataset.Generate(root, new SyntheticOptions
            {
                TrainCount = train, ValCount = test, Width = 320, Height = 240,
                Seed = 1, WithInstances = false
            });
            Console.WriteLine($"generated {train} + {test} scenes of 320x240 in {sw.Elapsed.TotalSeconds:F1} s (load average "
                + $"{LoaderBench.LoadAverage()})");
            var options = new AuditOptions
            {
                Data = info.TrainOptions() with { NoInstance = true }, TestImageDir = info.ValImageDir,
                CacheDirectory = ""
            };
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            sw.Restart();
            var result = DataAudit.Run(options);
            double audit = sw.Elapsed.TotalSeconds;
            sw.Restart();
            string report = Path.Combine(root, "audit.html");
            AuditReport.Write(result, report, SyntheticDataset.ClassNames, "bench");
            double html = sw.Elapsed.TotalSeconds;
            double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"audit of {result.Pairs} pairs + {result.TestImages} test photos: {audit:F1} s ({result.Pairs / audit:F0} pairs/s), report "
                    + $"{html:F1} s, CPU {cpu:F1} s on {Environment.ProcessorCount} cores (load average {LoaderBench.LoadAverage()})"));
            Console.WriteLine($"found: {result.NearDuplicateClusters.Count} near-duplicate clusters, effective size {result.EffectiveSize}, "
                + $"{result.Leakage.Count} leaked test photos, {result.Problems.Count} problems");
            return 0;
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }
}
