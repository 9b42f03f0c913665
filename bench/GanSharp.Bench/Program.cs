namespace GanSharp.Bench;

/// <summary>Benchmark dispatcher: <c>dotnet run --project bench/GanSharp.Bench -c Release -- &lt;name&gt; [args]</c>.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        GanSharp.Runtime.NativeSetup.TuneAllocator();
        string name = args.Length > 0 ? args[0] : "";
        var rest = args.Skip(1).ToArray();
        switch (name)
        {
            case "loader":
                return LoaderBench.Run(rest);
            case "fid":
                return FidBench.Run(rest);
            default:
                Console.Error.WriteLine("usage: GanSharp.Bench <benchmark> [args]; benchmarks: loader, fid");
                return 2;
        }
    }
}
