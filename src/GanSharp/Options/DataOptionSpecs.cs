using GanSharp.Data;
using Mode = GanSharp.Data.PreprocessMode;

namespace GanSharp.Options;

/// <summary>
/// The options of <see cref="DataOptions"/>: kebab-case flags with the reference's spellings as aliases (so a
/// reference command line works unchanged). Defaults come from <see cref="DataOptions.Create"/> (train or test).
/// The seed is not among them: the verb that owns the run seed sets <see cref="DataOptions.Seed"/>.
/// </summary>
public static class DataOptionSpecs
{
    public static OptionCatalog<DataOptions> Catalog { get; } = new();

    public static OptionSpec<DataOptions, string> LabelDir { get; } = Catalog.Add("--label-dir", x => x.LabelDir,
        (x, v) => x with { LabelDir = v ?? "" },
        "Folder of label maps: gray or palette PNGs whose values are class indices (palette colours are ignored).",
        "label_dir", helpName: "dir");

    public static OptionSpec<DataOptions, string> ImageDir { get; } = Catalog.Add("--image-dir", x => x.ImageDir,
        (x, v) => x with { ImageDir = v ?? "" },
        "Folder of photos (PNG, JPEG, ...), paired with the label maps by file name stem.", "image_dir", helpName: "dir");

    public static OptionSpec<DataOptions, string?> InstanceDir { get; } = Catalog.Add("--instance-dir", x => x.InstanceDir,
        (x, v) => x with { InstanceDir = string.IsNullOrEmpty(v) ? null : v },
        "Folder of instance maps (8/16-bit PNG, or .npy for ids above 65535). Without it, or when files are missing, training runs "
        + "without instance edges and says so.", "instance_dir", helpName: "dir");

    public static OptionSpec<DataOptions, int> LabelNc { get; } = Catalog.Add("--label-nc", x => x.LabelNc, (x, v) => x with { LabelNc = v },
        "Number of label classes, not counting don't-care; every label value must be below it (checked up front).",
        "label_nc", helpName: "count", structural: true);

    public static OptionSpec<DataOptions, bool> ContainDontcareLabel { get; } = Catalog.Add("--contain-dontcare-label",
        x => x.ContainDontcareLabel, (x, v) => x with { ContainDontcareLabel = v },
        "Label value 255 means \"don't care\" and gets a channel of its own.", "contain_dontcare_label", structural: true);

    public static OptionSpec<DataOptions, bool> NoInstance { get; } = Catalog.Add("--no-instance", x => x.NoInstance,
        (x, v) => x with { NoInstance = v },
        "Leave instance edges out even if --instance-dir is given.", "no_instance", structural: true);

    public static OptionSpec<DataOptions, Mode> PreprocessMode { get; } = Catalog.Add("--preprocess-mode", x => x.PreprocessMode,
        (x, v) => x with { PreprocessMode = v },
        "How images are scaled and cropped at load time: resize_and_crop, crop, scale_width, scale_width_and_crop, scale_shortside, "
        + "scale_shortside_and_crop, fixed or none.", "preprocess_mode",
        text: ValueTexts.Named(Enum.GetValues<Mode>().Select(m => (Transforms.ModeName(m), m)).ToArray()), helpName: "mode");

    public static OptionSpec<DataOptions, int> LoadSize { get; } = Catalog.Add("--load-size", x => x.LoadSize, (x, v) => x with { LoadSize = v },
        "Scale images to this size before cropping (the reference's 286 for training, 256 for testing).", "load_size", helpName: "pixels");

    public static OptionSpec<DataOptions, int> CropSize { get; } = Catalog.Add("--crop-size", x => x.CropSize, (x, v) => x with { CropSize = v },
        "Side of the square crop fed to the networks.", "crop_size", helpName: "pixels", structural: true);

    public static OptionSpec<DataOptions, double> AspectRatio { get; } = Catalog.Add("--aspect-ratio", x => x.AspectRatio,
        (x, v) => x with { AspectRatio = v },
        "Width / height of the generated images; `fixed` mode resizes to crop-size x crop-size / aspect-ratio.",
        "aspect_ratio", helpName: "ratio", structural: true);

    public static OptionSpec<DataOptions, bool> NoFlip { get; } = Catalog.Add("--no-flip", x => x.NoFlip, (x, v) => x with { NoFlip = v },
        "Do not flip training images horizontally (testing never flips).", "no_flip");

    public static OptionSpec<DataOptions, bool> NoPairingCheck { get; } = Catalog.Add("--no-pairing-check", x => x.NoPairingCheck,
        (x, v) => x with { NoPairingCheck = v },
        "Pair label maps and photos by sorted position instead of by file name stem.", "no_pairing_check");

    public static OptionSpec<DataOptions, int> BatchSize { get; } = Catalog.Add("--batch-size", x => x.BatchSize,
        (x, v) => x with { BatchSize = v },
        "Images per batch; training drops the last incomplete batch of an epoch.", "batchSize", helpName: "count");

    public static OptionSpec<DataOptions, int> NumWorkers { get; } = Catalog.Add("--num-workers", x => x.NumWorkers,
        (x, v) => x with { NumWorkers = v },
        "Threads that load and preprocess images ahead of training; 0 loads on the main thread.", "nThreads", helpName: "count");

    public static OptionSpec<DataOptions, bool> SerialBatches { get; } = Catalog.Add("--serial-batches", x => x.SerialBatches,
        (x, v) => x with { SerialBatches = v },
        "Take images in file order instead of a new random order each epoch.", "serial_batches");

    public static OptionSpec<DataOptions, int?> MaxDatasetSize { get; } = Catalog.Add("--max-dataset-size", x => x.MaxDatasetSize,
        (x, v) => x with { MaxDatasetSize = v },
        "Use at most this many pairs (the first ones in natural file order).", "max_dataset_size", helpName: "count");
}
