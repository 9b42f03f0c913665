using GanSharp.Options;

namespace GanSharp.Data;

/// <summary>How images are scaled and cropped at load time (the reference's <c>--preprocess_mode</c>).</summary>
public enum PreprocessMode
{
    /// <summary>Resize to load_size x load_size, then a random crop_size square.</summary>
    ResizeAndCrop,
    /// <summary>A random crop_size square of the original (zero-padded where the image is smaller).</summary>
    Crop,
    /// <summary>Width to load_size, height keeps the aspect ratio.</summary>
    ScaleWidth,
    /// <summary>Width to load_size, then a random crop_size square.</summary>
    ScaleWidthAndCrop,
    /// <summary>Short side to load_size, long side keeps the aspect ratio.</summary>
    ScaleShortside,
    /// <summary>Short side to load_size, then a random crop_size square.</summary>
    ScaleShortsideAndCrop,
    /// <summary>Resize to crop_size x round(crop_size / aspect_ratio).</summary>
    Fixed,
    /// <summary>Each side rounded to the nearest multiple of 32.</summary>
    None,
}

/// <summary>
/// Options of a SPADE "custom" data set (label folder, photo folder, optional instance folder), with the reference
/// defaults. Use <see cref="Create"/> to get the train or test defaults (load size 286 vs 256, serial order and
/// no flip at test time, as the reference's test options).
/// </summary>
public sealed record DataOptions
{
    /// <summary>Folder of label maps (gray or palette PNG).</summary>
    public required string LabelDir { get; init; }

    /// <summary>Folder of photos (anything SkiaSharp decodes).</summary>
    public required string ImageDir { get; init; }

    /// <summary>Folder of instance maps; null means none (instance edges are then left out).</summary>
    public string? InstanceDir { get; init; }

    /// <summary>Number of label classes, not counting the don't-care class.</summary>
    public int LabelNc { get; init; } = 13;

    /// <summary>Whether value 255 marks "don't care" (its own channel, index LabelNc).</summary>
    public bool ContainDontcareLabel { get; init; }

    /// <summary>Leave instance edges out even when an instance folder is given.</summary>
    public bool NoInstance { get; init; }

    public PreprocessMode PreprocessMode { get; init; } = PreprocessMode.ResizeAndCrop;

    /// <summary>Scale target before cropping (286 for training, 256 for testing by default).</summary>
    public int LoadSize { get; init; } = 286;

    /// <summary>Side of the square crop (and the width for <see cref="PreprocessMode.Fixed"/>).</summary>
    public int CropSize { get; init; } = 256;

    /// <summary>Width / height; only <see cref="PreprocessMode.Fixed"/> uses it here (the generator uses it too).</summary>
    public double AspectRatio { get; init; } = 1.0;

    /// <summary>Never flip horizontally (testing never flips anyway).</summary>
    public bool NoFlip { get; init; }

    /// <summary>Pair files by sorted position instead of by file stem (the reference's escape hatch).</summary>
    public bool NoPairingCheck { get; init; }

    public int BatchSize { get; init; } = 1;

    /// <summary>Loader threads; 0 loads on the consumer's thread.</summary>
    public int NumWorkers { get; init; } = 2;

    /// <summary>Keep file order instead of a per-epoch permutation.</summary>
    public bool SerialBatches { get; init; }

    /// <summary>Use at most this many pairs (after natural sort); null for all.</summary>
    public int? MaxDatasetSize { get; init; }

    /// <summary>Training (random crops, flips, shuffling, drop-last) or testing.</summary>
    public bool IsTrain { get; init; } = true;

    /// <summary>Seed of the shuffling and augmentation streams.</summary>
    public int Seed { get; init; }

    /// <summary>Channels of the generator input: classes, don't-care, instance edges.</summary>
    public int SemanticNc(bool withInstance) => LabelNc + (ContainDontcareLabel ? 1 : 0) + (withInstance ? 1 : 0);

    /// <summary>The reference's custom-mode defaults for training or testing.</summary>
    public static DataOptions Create(string labelDir, string imageDir, bool isTrain, string? instanceDir = null) => new()
    {
        LabelDir = labelDir,
        ImageDir = imageDir,
        InstanceDir = instanceDir,
        IsTrain = isTrain,
        LoadSize = isTrain ? 286 : 256,
        SerialBatches = !isTrain,
        NoFlip = !isTrain,
    };

    /// <summary>Checks the numbers that do not need the files; throws a Usage error naming the option.</summary>
    public void Validate()
    {
        if (LabelNc < 1) throw Bad(DataOptionSpecs.LabelNc, LabelNc, "must be at least 1");
        if (LoadSize < 1) throw Bad(DataOptionSpecs.LoadSize, LoadSize, "must be positive");
        if (CropSize < 1) throw Bad(DataOptionSpecs.CropSize, CropSize, "must be positive");
        if (!(AspectRatio > 0) || double.IsInfinity(AspectRatio))
            throw Bad(DataOptionSpecs.AspectRatio, AspectRatio, "must be a positive number (width / height)");
        if (BatchSize < 1) throw Bad(DataOptionSpecs.BatchSize, BatchSize, "must be at least 1");
        if (NumWorkers < 0) throw Bad(DataOptionSpecs.NumWorkers, NumWorkers, "must be 0 (load on the main thread) or more");
        if (MaxDatasetSize is < 1) throw Bad(DataOptionSpecs.MaxDatasetSize, MaxDatasetSize, "must be at least 1");
        if (PreprocessMode is PreprocessMode.ResizeAndCrop or PreprocessMode.ScaleWidthAndCrop or PreprocessMode.ScaleShortsideAndCrop
            && CropSize > LoadSize)
            throw new GanSharpException(ErrorKind.Usage,
                $"{DataOptionSpecs.CropSize.Render(CropSize)} is larger than {DataOptionSpecs.LoadSize.Render(LoadSize)}: the crop would run "
                + $"off the scaled image; raise {DataOptionSpecs.LoadSize.Flag} or lower {DataOptionSpecs.CropSize.Flag}.");
    }

    private static GanSharpException Bad(IOptionSpec<DataOptions> option, object? value, string rule) =>
        new(ErrorKind.Usage, $"{option.Flag} {value} {rule}: pass a valid value.");
}
