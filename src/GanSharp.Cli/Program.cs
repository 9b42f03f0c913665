using System.CommandLine;
using GanSharp.Cli.Commands;
using GanSharp.Runtime;

namespace GanSharp.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        // Must precede the first tensor: see NativeSetup.TuneAllocator.
        NativeSetup.TuneAllocator();
        // Ctrl+C is handled by the verbs themselves (training saves a resumable checkpoint first), so the parser's own
        // termination timeout is off.
        return BuildRoot().Parse(args).Invoke(new InvocationConfiguration { ProcessTerminationTimeout = null });
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
    }
}
