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

    /// <summary>Leaves MPI at the end of a successful command.</summary>
    public static void Finish() => Communicator.FinalizeIfStarted();
}
