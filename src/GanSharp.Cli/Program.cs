using System.CommandLine;
using GanSharp.Cli.Commands;
using GanSharp.Runtime;

namespace GanSharp.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        // See GcQuiet: the gen0 budget that keeps collections out of training iterations is read at start-up only.
        if (GcQuiet.ShouldRelaunch()) return GcQuiet.Relaunch(args, typeof(Program).Assembly.Location);
        // Must precede the first tensor: see NativeSetup.TuneAllocator.
        NativeSetup.TuneAllocator();
        // Ctrl+C is handled by the verbs themselves (training saves a resumable checkpoint first), so the parser's own
        // termination timeout is off.
        return BuildRoot().Parse(RouteFamily(args)).Invoke(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }

    /// <summary>
    /// <c>train --family X</c> with X other than spade is the same as <c>train-family --family X</c>: one verb for every
    /// family, while each family keeps its own options and help.
    /// </summary>
    internal static string[] RouteFamily(string[] args)
    {
        if (args.Length == 0 || args[0] != "train") return args;
        for (int i = 1; i < args.Length; i++)
        {
            string? value = args[i] == "--family" && i + 1 < args.Length ? args[i + 1]
                : args[i].StartsWith("--family=", StringComparison.Ordinal) ? args[i]["--family=".Length..] : null;
            if (value is null) continue;
            var rest = args.Where((_, j) => !(j == i || (j == i + 1 && args[i] == "--family"))).Skip(1);
            return value == "spade" ? ["train", .. rest] : ["train-family", "--family", value, .. rest];
        }
        return args;
    }

    /// <summary>The whole command tree; parse tests use it without running anything.</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand(
            "GanSharp: train, debug and evaluate GANs (GauGAN/SPADE and the stabilised families) on CPU with TorchSharp.");
        foreach (var verb in Verbs())
            root.Subcommands.Add(verb);
        return root;
    }

    private static IEnumerable<Command> Verbs()
    {
        yield return DataCommand.Create();
        yield return DemoCommand.Create();
        yield return DoctorCommand.Create();
        yield return EvaluateCommand.Create();
        yield return PlanCommand.Create();
        yield return TestCommand.Create();
        yield return TrainCommand.Create();
        yield return TrainFamilyCommand.Create();
    }
}
