using System.CommandLine;
using GanSharp.Cli.Commands;
using GanSharp.Distributed;
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
        DistributedRun.OnFault(message => Console.Error.WriteLine($"error: {message}"));
        int code = Run(args);
        if (DistributedRun.TimesLine() is { } times) Console.Error.WriteLine(times);
        DistributedRun.Finish();
        return code;
    }

    /// <summary>Parses and runs one command line; the exit code as the process would return it (tests call this).</summary>
    public static int Run(string[] args)
    {
        // Ctrl+C is handled by the verbs themselves (training saves a resumable checkpoint first), so the parser's own
        // termination timeout is off.
        var parse = BuildRoot().Parse(RouteFamily(args));
        if (parse.Errors.Count > 0) return ReportParseErrors(parse, Console.Error);
        return parse.Invoke(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }

    /// <summary>
    /// A command line that does not parse gets its errors and the one command that lists the options, instead of
    /// System.CommandLine's errors followed by the whole help (over a hundred lines for train).
    /// </summary>
    internal static int ReportParseErrors(ParseResult parse, TextWriter error)
    {
        foreach (var e in parse.Errors) error.WriteLine($"error: {e.Message}");
        var names = new List<string>();
        for (var r = parse.CommandResult; r is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
            if (r.Command is not RootCommand) names.Insert(0, r.Command.Name);
        error.WriteLine($"`gansharp {string.Join(" ", names.Append("--help"))}` lists the options.");
        return ExitCodes.Usage;
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
        Options.RangeChecks.AddTo(root);
        return root;
    }

    private static IEnumerable<Command> Verbs()
    {
        yield return DataCommand.Create();
        yield return DemoCommand.Create();
        yield return DoctorCommand.Create();
        yield return EvaluateCommand.Create();
        yield return ExportCommand.Create();
        yield return PlanCommand.Create();
        yield return StudioCommand.Create();
        yield return TestCommand.Create();
        yield return TrainCommand.Create();
        yield return TrainFamilyCommand.Create();
    }
}
