using System.CommandLine;
using GanSharp.Runtime;
using Spectre.Console;

namespace GanSharp.Cli.Commands;

/// <summary><c>gansharp doctor</c>: the environment check (and, for a run folder, the training report).</summary>
public static class DoctorCommand
{
    public static Command Create()
    {
        var env = new Option<bool>("--env") { Description = "Print the TorchSharp/libtorch versions, threads, device and allocator settings, and check that a convolution runs." };
        var cmd = new Command("doctor", "Check the machine (--env), or diagnose a training run folder.");
        cmd.Options.Add(env);
        cmd.SetGuardedAction((parse, _) =>
        {
            if (!parse.GetValue(env))
                throw new GanSharpException(ErrorKind.Usage, "doctor needs --env (a run-folder report is not available in this build yet).");
            var e = TorchEnvironment.Probe();
            var table = new Table().AddColumn("what").AddColumn("value");
            table.AddRow("TorchSharp", e.TorchSharpVersion);
            table.AddRow("libtorch", e.LibTorchVersion);
            table.AddRow("device", e.Device);
            table.AddRow("intra-op threads", e.IntraOpThreads.ToString());
            table.AddRow("inter-op threads", e.InteropThreads.ToString());
            table.AddRow("glibc malloc tuned", e.AllocatorTuned ? "yes (mmap_max 0, trim_threshold max)" : "no");
            table.AddRow("native library", Markup.Escape(e.NativeLibraryPath));
            table.AddRow("conv forward+backward", SelfCheck.ConvRoundTrip() ? "ok" : "FAILED");
            AnsiConsole.Write(table);
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
