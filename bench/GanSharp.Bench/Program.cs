namespace GanSharp.Bench;

/// <summary>Benchmark dispatcher: <c>dotnet run --project bench/GanSharp.Bench -c Release -- &lt;name&gt; [args]</c>.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (GanSharp.Runtime.GcQuiet.ShouldRelaunch()) return GanSharp.Runtime.GcQuiet.Relaunch(args, typeof(Program).Assembly.Location);
        // The SPADE benchmark's untuned children measure glibc's defaults, so only they skip the tuning.
        bool untunedChild = args.Length > 1 && args[0] == "spade" && args[1] == "--child" && !args.Contains("--tuned");
        if (!untunedChild) GanSharp.Runtime.NativeSetup.TuneAllocator();
        string name = args.Length > 0 ? args[0] : "";
        var rest = args.Skip(1).ToArray();
        switch (name)
        {
            case "loader":
                return LoaderBench.Run(rest);
            case "fid":
                return FidBench.Run(rest);
            case "spade":
                return SpadeBench.Run(rest);
            case "diagnostics":
                return DiagnosticsBench.Run(rest);
            case "audit":
                return AuditBench.Run(rest);
            case "conv-probe":
                return ConvProbe.Run(rest);
            case "gemm":
                return GemmBench.Run(rest);
            case "studio":
                return StudioBench.Run(rest);
            case "began-trace":
                return BeganTrace.Run(rest);
            case "ranks":
                return RanksBench.Run(rest);
            case "families":
                FamiliesBench.Run(rest);
                return 0;
            default:
                Console.Error.WriteLine("usage: GanSharp.Bench <benchmark> [args]; benchmarks: loader, fid, spade, families, audit, diagnostics, "
                    + "conv-probe, gemm, studio, began-trace, ranks");
                return 2;
        }
    }
}
