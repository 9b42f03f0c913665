namespace GanSharp.Cli;

/// <summary>Process exit codes of <c>gansharp</c>; documented in README.md.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>An unexpected error: a bug in GanSharp.</summary>
    public const int InternalError = 1;
    /// <summary>The command line could not be parsed or an option value is invalid.</summary>
    public const int Usage = 2;
    /// <summary>A file or folder given is missing or unreadable.</summary>
    public const int BadInput = 3;
    /// <summary>The data set failed validation.</summary>
    public const int DataInvalid = 4;
    /// <summary>A checkpoint could not be used.</summary>
    public const int Checkpoint = 5;
    /// <summary>Training diverged or was stopped by a failure detector.</summary>
    public const int TrainingFailed = 6;
    /// <summary>A check (audit --strict, evaluation threshold) found problems.</summary>
    public const int CheckFailed = 7;
    /// <summary>The disk (or quota) ran out while writing; files written before are intact.</summary>
    public const int DiskFull = 8;
    /// <summary>Another process is training in the same run folder.</summary>
    public const int RunBusy = 9;
    /// <summary>Interrupted by the user (Ctrl+C).</summary>
    public const int Interrupted = 130;

    public static int For(ErrorKind kind) => kind switch
    {
        ErrorKind.Usage => Usage,
        ErrorKind.BadInput => BadInput,
        ErrorKind.Data => DataInvalid,
        ErrorKind.Checkpoint => Checkpoint,
        ErrorKind.TrainingFailed => TrainingFailed,
        ErrorKind.DiskFull => DiskFull,
        ErrorKind.RunBusy => RunBusy,
        _ => InternalError,
    };
}
