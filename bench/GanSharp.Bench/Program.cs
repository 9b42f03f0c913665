namespace GanSharp.Bench;

/// <summary>Benchmark dispatcher: <c>dotnet run --project bench/GanSharp.Bench -c Release -- families [options]</c>.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        GanSharp.Runtime.NativeSetup.TuneAllocator();
        if (args.Length == 0)
        {
            Console.Error.WriteLine("usage: GanSharp.Bench families [--steps N] [--only family[,family]] [--data ring8,grid25,shapes32]");
            return 2;
        }
        switch (args[0])
        {
            case "families":
                FamiliesBench.Run(args[1..]);
                return 0;
            default:
                Console.Error.WriteLine($"unknown benchmark '{args[0]}': try families.");
                return 2;
        }
    }
}
