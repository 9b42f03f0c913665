using System.CommandLine;
using GanSharp.Data;

namespace GanSharp.Cli.Options;

/// <summary>
/// The data options of the SPADE "custom" data set, with kebab-case names plus the reference's spellings as
/// aliases (so a reference command line works unchanged). Verbs add them with <see cref="AddTo"/> and read them
/// with <see cref="Bind"/>. The seed is not among them: the verb that owns the run seed sets
/// <see cref="DataOptions.Seed"/> with a <c>with</c> expression.
/// </summary>
public sealed class DataOptionsBinder
{
    /// <param name="requireFolders">Whether --label-dir and --image-dir must be given (false for verbs that can
    /// take them from a checkpoint).</param>
    public DataOptionsBinder(bool requireFolders = true)
    {
        LabelDir = new Option<string>("--label-dir", "--label_dir")
        {
            Description = "Folder of label maps: gray or palette PNGs whose values are class indices (palette colours are ignored).",
            HelpName = "dir",
            Required = requireFolders,
        };
        ImageDir = new Option<string>("--image-dir", "--image_dir")
        {
            Description = "Folder of photos (PNG, JPEG, ...), paired with the label maps by file name stem.",
            HelpName = "dir",
            Required = requireFolders,
        };
        InstanceDir = new Option<string?>("--instance-dir", "--instance_dir")
        {
            Description = "Folder of instance maps (8/16-bit PNG, or .npy for ids above 65535). Without it, or when files are missing, training runs without instance edges and says so.",
            HelpName = "dir",
        };
        LabelNc = new Option<int>("--label-nc", "--label_nc")
        {
            Description = "Number of label classes, not counting don't-care; every label value must be below it (checked up front).",
            DefaultValueFactory = _ => 13,
            HelpName = "count",
        };
        ContainDontcareLabel = new Option<bool>("--contain-dontcare-label", "--contain_dontcare_label")
        {
            Description = "Label value 255 means \"don't care\" and gets a channel of its own.",
        };
        NoInstance = new Option<bool>("--no-instance", "--no_instance")
        {
            Description = "Leave instance edges out even if --instance-dir is given.",
        };
        PreprocessMode = new Option<string>("--preprocess-mode", "--preprocess_mode")
        {
            Description = "How images are scaled and cropped at load time: resize_and_crop, crop, scale_width, scale_width_and_crop, scale_shortside, scale_shortside_and_crop, fixed or none.",
            DefaultValueFactory = _ => "resize_and_crop",
            HelpName = "mode",
        };
        PreprocessMode.AcceptOnlyFromAmong(Enum.GetValues<PreprocessMode>().Select(Transforms.ModeName).ToArray());
        LoadSize = new Option<int?>("--load-size", "--load_size")
        {
            Description = "Scale images to this size before cropping [default: 286 for training, 256 for testing].",
            HelpName = "pixels",
        };
        CropSize = new Option<int>("--crop-size", "--crop_size")
        {
            Description = "Side of the square crop fed to the networks.",
            DefaultValueFactory = _ => 256,
            HelpName = "pixels",
        };
        AspectRatio = new Option<double>("--aspect-ratio", "--aspect_ratio")
        {
            Description = "Width / height of the generated images; `fixed` mode resizes to crop-size x crop-size / aspect-ratio.",
            DefaultValueFactory = _ => 1.0,
            HelpName = "ratio",
        };
        NoFlip = new Option<bool>("--no-flip", "--no_flip")
        {
            Description = "Do not flip training images horizontally (testing never flips).",
        };
        NoPairingCheck = new Option<bool>("--no-pairing-check", "--no_pairing_check")
        {
            Description = "Pair label maps and photos by sorted position instead of by file name stem.",
        };
        BatchSize = new Option<int>("--batch-size", "--batchSize")
        {
            Description = "Images per batch; training drops the last incomplete batch of an epoch.",
            DefaultValueFactory = _ => 1,
            HelpName = "count",
        };
        NumWorkers = new Option<int>("--num-workers", "--nThreads")
        {
            Description = "Threads that load and preprocess images ahead of training; 0 loads on the main thread.",
            DefaultValueFactory = _ => 2,
            HelpName = "count",
        };
        SerialBatches = new Option<bool>("--serial-batches", "--serial_batches")
        {
            Description = "Take images in file order instead of a new random order each epoch.",
        };
        MaxDatasetSize = new Option<int?>("--max-dataset-size", "--max_dataset_size")
        {
            Description = "Use at most this many pairs (the first ones in natural file order).",
            HelpName = "count",
        };
    }

    public Option<string> LabelDir { get; }
    public Option<string> ImageDir { get; }
    public Option<string?> InstanceDir { get; }
    public Option<int> LabelNc { get; }
    public Option<bool> ContainDontcareLabel { get; }
    public Option<bool> NoInstance { get; }
    public Option<string> PreprocessMode { get; }
    public Option<int?> LoadSize { get; }
    public Option<int> CropSize { get; }
    public Option<double> AspectRatio { get; }
    public Option<bool> NoFlip { get; }
    public Option<bool> NoPairingCheck { get; }
    public Option<int> BatchSize { get; }
    public Option<int> NumWorkers { get; }
    public Option<bool> SerialBatches { get; }
    public Option<int?> MaxDatasetSize { get; }

    /// <summary>All options, in the order --help lists them.</summary>
    public IEnumerable<Option> All =>
    [
        LabelDir, ImageDir, InstanceDir, LabelNc, ContainDontcareLabel, NoInstance, PreprocessMode, LoadSize, CropSize,
        AspectRatio, NoFlip, NoPairingCheck, BatchSize, NumWorkers, SerialBatches, MaxDatasetSize,
    ];

    /// <summary>Adds every data option to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var o in All) command.Options.Add(o);
    }

    /// <summary>
    /// Reads the options into a record with the reference's train or test defaults (load size 286 or 256; at test
    /// time serial order and no flip unless asked otherwise) and validates the numbers.
    /// </summary>
    /// <param name="parse">The parsed command line.</param>
    /// <param name="isTrain">Training or test defaults.</param>
    /// <param name="validate">False when the caller completes the options first (reference dataset modes) and validates them then.</param>
    public DataOptions Bind(ParseResult parse, bool isTrain, bool validate = true)
    {
        var defaults = DataOptions.Create("", "", isTrain);
        string mode = parse.GetValue(PreprocessMode)!;
        var o = defaults with
        {
            LabelDir = parse.GetValue(LabelDir) ?? "",
            ImageDir = parse.GetValue(ImageDir) ?? "",
            InstanceDir = string.IsNullOrEmpty(parse.GetValue(InstanceDir)) ? null : parse.GetValue(InstanceDir),
            LabelNc = parse.GetValue(LabelNc),
            ContainDontcareLabel = parse.GetValue(ContainDontcareLabel),
            NoInstance = parse.GetValue(NoInstance),
            PreprocessMode = Transforms.ParseMode(mode)
                ?? throw new GanSharpException(ErrorKind.Usage, $"--preprocess-mode {mode} is unknown: use one of {string.Join(", ", Enum.GetValues<PreprocessMode>().Select(Transforms.ModeName))}."),
            LoadSize = parse.GetValue(LoadSize) ?? defaults.LoadSize,
            CropSize = parse.GetValue(CropSize),
            AspectRatio = parse.GetValue(AspectRatio),
            NoFlip = parse.GetValue(NoFlip) || defaults.NoFlip,
            NoPairingCheck = parse.GetValue(NoPairingCheck),
            BatchSize = parse.GetValue(BatchSize),
            NumWorkers = parse.GetValue(NumWorkers),
            SerialBatches = parse.GetValue(SerialBatches) || defaults.SerialBatches,
            MaxDatasetSize = parse.GetValue(MaxDatasetSize),
        };
        if (validate) o.Validate();
        return o;
    }
}
