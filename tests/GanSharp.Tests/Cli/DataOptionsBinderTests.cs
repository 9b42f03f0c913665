using System.CommandLine;
using GanSharp.Cli;
using GanSharp.Cli.Options;
using GanSharp.Data;

namespace GanSharp.Tests.Cli;

/// <summary>Parse-only tests: nothing here touches files.</summary>
public class DataOptionsBinderTests
{
    private static DataOptions Parse(bool isTrain, params string[] args)
    {
        var binder = new DataOptionsBinder();
        var cmd = new Command("x");
        binder.AddTo(cmd);
        var parse = cmd.Parse(args);
        Assert.Empty(parse.Errors);
        return binder.Bind(parse, isTrain);
    }

    [Fact]
    public void KebabCaseAndReferenceSpellingsGiveTheSameOptions()
    {
        var kebab = Parse(true, "--label-dir", "L", "--image-dir", "I", "--instance-dir", "N", "--label-nc", "35",
            "--contain-dontcare-label", "--preprocess-mode", "scale_width_and_crop", "--load-size", "512", "--crop-size", "384",
            "--aspect-ratio", "2", "--no-flip", "--batch-size", "4", "--num-workers", "3", "--serial-batches",
            "--no-pairing-check", "--max-dataset-size", "100", "--no-instance");
        var reference = Parse(true, "--label_dir", "L", "--image_dir", "I", "--instance_dir", "N", "--label_nc", "35",
            "--contain_dontcare_label", "--preprocess_mode", "scale_width_and_crop", "--load_size", "512", "--crop_size", "384",
            "--aspect_ratio", "2", "--no_flip", "--batchSize", "4", "--nThreads", "3", "--serial_batches",
            "--no_pairing_check", "--max_dataset_size", "100", "--no_instance");
        Assert.Equal(kebab, reference);
        Assert.Equal(new DataOptions
        {
            LabelDir = "L", ImageDir = "I", InstanceDir = "N", LabelNc = 35, ContainDontcareLabel = true, NoInstance = true,
            PreprocessMode = PreprocessMode.ScaleWidthAndCrop, LoadSize = 512, CropSize = 384, AspectRatio = 2, NoFlip = true,
            NoPairingCheck = true, BatchSize = 4, NumWorkers = 3, SerialBatches = true, MaxDatasetSize = 100, IsTrain = true,
        }, kebab);
    }

    [Fact]
    public void DefaultsFollowTheReferenceForTrainAndTest()
    {
        var train = Parse(true, "--label-dir", "L", "--image-dir", "I");
        Assert.Equal((13, 286, 256, PreprocessMode.ResizeAndCrop, 1, 2),
            (train.LabelNc, train.LoadSize, train.CropSize, train.PreprocessMode, train.BatchSize, train.NumWorkers));
        Assert.False(train.SerialBatches);
        Assert.False(train.NoFlip);
        Assert.Null(train.InstanceDir);
        var test = Parse(false, "--label-dir", "L", "--image-dir", "I");
        Assert.Equal(256, test.LoadSize);
        Assert.True(test.SerialBatches);
        Assert.True(test.NoFlip);
        Assert.False(test.IsTrain);
    }

    [Fact]
    public void UnknownModeAndMissingFoldersAreParseErrors()
    {
        var binder = new DataOptionsBinder();
        var cmd = new Command("x");
        binder.AddTo(cmd);
        Assert.Contains(cmd.Parse(["--label-dir", "L", "--image-dir", "I", "--preprocess-mode", "stretch"]).Errors,
            e => e.Message.Contains("stretch"));
        Assert.Contains(cmd.Parse(["--image-dir", "I"]).Errors, e => e.Message.Contains("--label-dir"));
    }

    [Fact]
    public void CropLargerThanLoadIsAUsageErrorNamingBoth()
    {
        var e = Assert.Throws<GanSharpException>(() => Parse(true, "--label-dir", "L", "--image-dir", "I", "--load-size", "200"));
        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.Contains("--crop-size 256", e.Message);
        Assert.Contains("--load-size 200", e.Message);
    }

    [Fact]
    public void DataVerbsAreInTheCommandTree()
    {
        var data = Program.BuildRoot().Subcommands.Single(c => c.Name == "data");
        Assert.Equal(new[] { "audit", "convert", "split", "validate" }, data.Subcommands.Select(c => c.Name).Order());
        var validate = data.Subcommands.Single(c => c.Name == "validate");
        Assert.Contains(validate.Options, o => o.Aliases.Contains("--label_nc"));
    }
}
