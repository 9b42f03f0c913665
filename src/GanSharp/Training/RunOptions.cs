using GanSharp.Options;

namespace GanSharp.Training;

/// <summary>Where a run lives and how often it reports, samples and saves (counted in images, as the reference).</summary>
public sealed record RunOptions
{
    /// <summary>The defaults of a SPADE run (the reference's: print and display every 100 images).</summary>
    public static RunOptions Spade { get; } = new();

    /// <summary>
    /// The defaults of a family run, whose small batches go by fast: statistics every 6,400 images, samples and saves
    /// every 64,000, a numbered checkpoint every 5 epochs.
    /// </summary>
    public static RunOptions Family { get; } = new()
    {
        Name = "family",
        PrintFreq = 6400,
        DisplayFreq = 64_000,
        SaveLatestFreq = 64_000,
        SaveEpochFreq = 5,
    };

    public string Name { get; init; } = "label2coco";
    public string CheckpointsDir { get; init; } = "./checkpoints";
    public int Seed { get; init; }
    public int PrintFreq { get; init; } = 100;
    public int DisplayFreq { get; init; } = 100;
    public int SaveLatestFreq { get; init; } = 5000;
    public int SaveEpochFreq { get; init; } = 10;
    public bool ContinueTrain { get; init; }
    public string WhichEpoch { get; init; } = "latest";

    /// <summary>Stop after this many iterations (0 = run all epochs); the state is saved so the run can continue.</summary>
    public long MaxIterations { get; init; }

    /// <summary>Write TensorBoard event files besides the JSONL log.</summary>
    public bool TfLog { get; init; }

    public string RunDir => Path.Combine(CheckpointsDir, Name);

    /// <summary>
    /// Refuses a --name or --which-epoch that would lead outside --checkpoints-dir (or --results-dir): both become
    /// parts of file names, so they must be plain names. Runs before anything touches the file system.
    /// </summary>
    public void ValidateNames()
    {
        CheckPlainName(Name, RunOptionSpecs.Name.Flag, "a plain folder name such as city_256");
        CheckPlainName(WhichEpoch, RunOptionSpecs.WhichEpoch.Flag, "'latest' or an epoch number");
    }

    /// <summary>One file or folder name: not empty, not '.' or '..', no folder separators, no control characters.</summary>
    public static bool IsPlainName(string value) =>
        !string.IsNullOrWhiteSpace(value) && value is not ("." or "..") && value.Length <= 200
        && value.IndexOfAny(['/', '\\']) < 0 && !value.Any(char.IsControl) && !Path.IsPathRooted(value)
        && value.IndexOfAny(Path.GetInvalidFileNameChars()) < 0;

    private static void CheckPlainName(string value, string flag, string example)
    {
        if (!IsPlainName(value))
            throw new GanSharpException(ErrorKind.Usage,
                $"{flag} '{value}' must be {example}, not a path: it names a folder inside the folder you chose, so it cannot contain "
                    + $"'/', '\\' or be '..'.");
    }

    public void Validate()
    {
        ValidateNames();
        if (PrintFreq < 1 || DisplayFreq < 1 || SaveLatestFreq < 1 || SaveEpochFreq < 1)
            throw new GanSharpException(ErrorKind.Usage, $"{RunOptionSpecs.PrintFreq.Flag}, {RunOptionSpecs.DisplayFreq.Flag}, "
                + $"{RunOptionSpecs.SaveLatestFreq.Flag} and {RunOptionSpecs.SaveEpochFreq.Flag} must be "
                + "at least 1.");
    }
}
