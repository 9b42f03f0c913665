namespace GanSharp;

/// <summary>What kind of problem a <see cref="GanSharpException"/> reports; the CLI maps it to an exit code.</summary>
public enum ErrorKind
{
    /// <summary>An option value is invalid or options contradict each other.</summary>
    Usage,
    /// <summary>A file or folder of the user's is missing, unreadable or malformed.</summary>
    BadInput,
    /// <summary>The data set fails validation (labels out of range, unpaired files, ...).</summary>
    Data,
    /// <summary>A checkpoint cannot be used (missing, mismatched options, refused content).</summary>
    Checkpoint,
    /// <summary>Training stopped because it diverged (NaN/Inf) or a detector asked to stop.</summary>
    TrainingFailed,
    /// <summary>A write ran out of disk space (or quota); what was written before is intact.</summary>
    DiskFull,
    /// <summary>Another process is training in the same run folder.</summary>
    RunBusy,
}

/// <summary>
/// An error meant for the user: its message is one sentence that names the file or option, the bad value and
/// what to do. Anything else that escapes is a bug in GanSharp.
/// </summary>
public sealed class GanSharpException : Exception
{
    public GanSharpException(ErrorKind kind, string message) : base(message) => Kind = kind;

    public GanSharpException(ErrorKind kind, string message, Exception inner) : base(message, inner) => Kind = kind;

    public ErrorKind Kind { get; }
}
