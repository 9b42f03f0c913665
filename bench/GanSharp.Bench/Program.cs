namespace GanSharp.Bench;

/// <summary>Benchmark dispatcher: <c>GanSharp.Bench &lt;name&gt; [options]</c>.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        GanSharp.Runtime.NativeSetup.TuneAllocator();
        return args.FirstOrDefault() switch
        {
            "fid" => FidBench.Run(args[1..]),
            _ => Usage(),
        };
    }

    private static int Usage()
    {
        Console.Error.WriteLine("usage: GanSharp.Bench fid [--images N] [--batch B] [--size S] [--threads T]");
        return 2;
    }
}
