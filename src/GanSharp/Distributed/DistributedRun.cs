namespace GanSharp.Distributed;

/// <summary>What the CLI needs to know about the ranks of an mpirun job (alone: rank 0 of 1, and MPI is never loaded).</summary>
public static class DistributedRun
{
    /// <summary>True unless this process is a rank other than 0 of an mpirun job: only rank 0 talks to the user.</summary>
    public static bool IsRank0 => !Communicator.Launched || Communicator.World.IsRoot;

    /// <summary>Where a rank fault's one sentence goes before the job is aborted.</summary>
    public static void OnFault(Action<string> report) => Communicator.FaultReporter = report;

    /// <summary>After a refusal or failure on one rank, stops the whole job (the others would wait for it), else returns.</summary>
    public static void AbortOthers(int exitCode)
    {
        if (Communicator.Launched) Communicator.World.Abort(exitCode);
    }

    /// <summary>Set to 1, rank 0 prints its allreduce times at the end of a command (the ranks bench reads them).</summary>
    public const string TimesVariable = "GANSHARP_MPI_TIMES";

    /// <summary>Rank 0's allreduce totals as one line for <see cref="TimesVariable"/>, or null when not asked or alone.</summary>
    public static string? TimesLine()
    {
        if (Environment.GetEnvironmentVariable(TimesVariable) != "1" || !Communicator.Launched || !Communicator.World.IsRoot) return null;
        var w = Communicator.World;
        return FormattableString.Invariant(
            $"mpi-times: ranks {w.Size} allreduce_seconds {w.AllreduceSeconds:F4} gradient_seconds {w.GradientSeconds:F4} calls {w.AllreduceCalls}")
            + FormattableString.Invariant($" overlapped_floats {w.OverlappedFloats} trailing_floats {w.TrailingFloats}");
    }

    /// <summary>Leaves MPI at the end of a successful command.</summary>
    public static void Finish() => Communicator.FinalizeIfStarted();
}
