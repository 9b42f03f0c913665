using GanSharp.Training;

namespace GanSharp.Options;

/// <summary>
/// The options of <see cref="RunOptions"/>, shared by SPADE and the families; each kind's defaults are a record
/// (<see cref="RunOptions.Spade"/>, <see cref="RunOptions.Family"/>) given to the command line's adapter.
/// </summary>
public static class RunOptionSpecs
{
    /// <summary>Where the run lives and which checkpoint it reads (train and test).</summary>
    public static OptionCatalog<RunOptions> Folder { get; } = new();

    /// <summary>How often a training run reports, samples and saves, and how it resumes or stops.</summary>
    public static OptionCatalog<RunOptions> Cadence { get; } = new();

    public static OptionSpec<RunOptions, string> Name { get; } = Folder.Add("--name", x => x.Name, (x, v) => x with { Name = v },
        "Name of the experiment: its checkpoints go to <checkpoints-dir>/<name>.", "name");

    public static OptionSpec<RunOptions, string> CheckpointsDir { get; } = Folder.Add("--checkpoints-dir", x => x.CheckpointsDir,
        (x, v) => x with { CheckpointsDir = v }, "Folder of run folders.", "checkpoints_dir", helpName: "dir");

    public static OptionSpec<RunOptions, string> WhichEpoch { get; } = Folder.Add("--which-epoch", x => x.WhichEpoch,
        (x, v) => x with { WhichEpoch = v }, "Which checkpoint to load: 'latest' or an epoch number.", "which_epoch");

    public static OptionSpec<RunOptions, int> Seed { get; } = Folder.Add("--seed", x => x.Seed, (x, v) => x with { Seed = v },
        "Seed of weight init, data order, augmentation and noise: the same seed gives the same run.");

    public static OptionSpec<RunOptions, int> PrintFreq { get; } = Cadence.Add("--print-freq", x => x.PrintFreq,
        (x, v) => x with { PrintFreq = v }, "Log losses and statistics every this many images.", "print_freq");

    public static OptionSpec<RunOptions, int> DisplayFreq { get; } = Cadence.Add("--display-freq", x => x.DisplayFreq,
        (x, v) => x with { DisplayFreq = v }, "Write sample images to web/ every this many images.", "display_freq");

    public static OptionSpec<RunOptions, int> SaveLatestFreq { get; } = Cadence.Add("--save-latest-freq", x => x.SaveLatestFreq,
        (x, v) => x with { SaveLatestFreq = v }, "Save the latest checkpoint every this many images.", "save_latest_freq");

    public static OptionSpec<RunOptions, int> SaveEpochFreq { get; } = Cadence.Add("--save-epoch-freq", x => x.SaveEpochFreq,
        (x, v) => x with { SaveEpochFreq = v }, "Keep a checkpoint of every this many epochs.", "save_epoch_freq");

    public static OptionSpec<RunOptions, bool> ContinueTrain { get; } = Cadence.Add("--continue-train", x => x.ContinueTrain,
        (x, v) => x with { ContinueTrain = v }, "Resume the run exactly where its --which-epoch checkpoint stopped.", "continue_train");

    public static OptionSpec<RunOptions, long> MaxIterations { get; } = Cadence.Add("--max-iterations", x => x.MaxIterations,
        (x, v) => x with { MaxIterations = v }, "Stop (resumably) after this many iterations in total (0 = all epochs).");

    public static OptionSpec<RunOptions, bool> TfLog { get; } = Cadence.Add("--tf-log", x => x.TfLog, (x, v) => x with { TfLog = v },
        "Also write TensorBoard event files to <run>/logs.", "tf_log");
}
