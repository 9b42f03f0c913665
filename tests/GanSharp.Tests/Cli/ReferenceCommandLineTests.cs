using System.CommandLine;
using GanSharp.Cli;
using GanSharp.Cli.Commands;
using GanSharp.Cli.Options;
using GanSharp.Data;
using GanSharp.Interop.NVlabs;
using GanSharp.Models.Spade;

namespace GanSharp.Tests.Cli;

/// <summary>An NVlabs SPADE command line given to <c>gansharp train</c> or <c>test</c> as it is.</summary>
public class ReferenceCommandLineTests
{
    private static (SpadeRunOptions Options, HashSet<string> Given, List<string> Notes) Bind(bool isTrain, string commandLine)
    {
        var cmd = new Command(isTrain ? "train" : "test");
        var spade = new SpadeOptionsBinder(training: isTrain);
        spade.AddTo(cmd);
        var reference = new ReferenceCompatBinder(isTrain);
        reference.AddTo(cmd);
        var parse = cmd.Parse(commandLine);
        Assert.True(parse.Errors.Count == 0, string.Join("; ", parse.Errors.Select(e => e.Message)));
        var notes = new List<string>();
        var (options, given) = TrainCommand.BindSpade(parse, spade, reference, notes.Add);
        return (options, given, notes);
    }

    public static IEnumerable<object[]> ReferenceCommandLines() =>
        Directory.GetFiles(Fixtures.Path("reference-opt"), "*.argv.txt").Order(StringComparer.Ordinal)
            .Select(f => new object[] { Path.GetFileName(f)[..^".argv.txt".Length] });

    [Theory, MemberData(nameof(ReferenceCommandLines))]
    public void EveryReferenceCommandLineTrainsWithTheReferencesOptions(string name)
    {
        // The command lines behind Fixtures/reference-opt; what they resolve to is checked against the opt.txt the
        // reference wrote (ReferenceOptionsTests), so this compares gansharp's reading with the reference's.
        string line = File.ReadAllText(Fixtures.Path("reference-opt", name + ".argv.txt")).Trim();
        if (line.Contains("--dataroot", StringComparison.Ordinal) && !line.Contains("--dataset_mode coco", StringComparison.Ordinal))
        {
            // The cityscapes/ade20k folder trees are not read: one sentence says what to give instead.
            var e = Assert.Throws<GanSharpException>(() => Bind(isTrain: true, line));
            Assert.Contains("give --label-dir and --image-dir", e.Message);
            var tokens = line.Split(' ').ToList();
            tokens.RemoveRange(tokens.IndexOf("--dataroot"), 2);
            line = string.Join(' ', tokens) + " --label_dir L --image_dir I";
        }
        var ours = Bind(isTrain: true, line).Options;
        var theirs = ReferenceOptions.FromCommandLine(
            line.Contains("--dataset_mode", StringComparison.Ordinal) ? line : line + " --dataset_mode coco", name).ToRunOptions();
        // Without --dataset_mode the reference means coco; gansharp means its own folders, so the comparison names it.
        if (!line.Contains("--dataset_mode", StringComparison.Ordinal))
            ours = Bind(isTrain: true, line + " --dataset_mode coco").Options;
        Assert.Equal(theirs.Model, ours.Model);
        Assert.Equal(theirs.Loss, ours.Loss);
        Assert.Equal(theirs.Optim.Betas, ours.Optim.Betas);
        Assert.Equal(theirs.Optim.LearningRatesAt(1), ours.Optim.LearningRatesAt(1));
        Assert.Equal(theirs.Optim.TotalEpochs, ours.Optim.TotalEpochs);
        Assert.Equal(theirs.Data.LabelDir, ours.Data.LabelDir);
        Assert.Equal(theirs.Data.ImageDir, ours.Data.ImageDir);
        Assert.Equal(
            (theirs.Data.LabelNc, theirs.Data.ContainDontcareLabel, theirs.Data.NoInstance, theirs.Data.CropSize, theirs.Data.LoadSize,
                theirs.Data.AspectRatio, theirs.Data.PreprocessMode, theirs.Data.BatchSize, theirs.Data.NoFlip),
            (ours.Data.LabelNc, ours.Data.ContainDontcareLabel, ours.Data.NoInstance, ours.Data.CropSize, ours.Data.LoadSize, ours.Data.AspectRatio,
                ours.Data.PreprocessMode, ours.Data.BatchSize, ours.Data.NoFlip));
        Assert.Equal(theirs.Run.Name, ours.Run.Name);
    }

    [Fact]
    public void ADatasetModeBringsItsDefaultsAndTypedOptionsWin()
    {
        var city = Bind(true, "--dataset_mode cityscapes --label_dir L --image_dir I --gpu_ids -1").Options;
        Assert.Equal((35, false, false, 512, 512, 2.0, PreprocessMode.Fixed, 16),
            (city.Data.LabelNc, city.Data.ContainDontcareLabel, city.Data.NoInstance, city.Data.CropSize, city.Data.LoadSize, city.Data.AspectRatio,
                city.Data.PreprocessMode, city.Data.BatchSize));
        Assert.Equal(NumUpsamplingLayers.More, city.Model.NumUpsamplingLayers);
        Assert.Equal(35, city.Model.LabelNc);

        var typed = Bind(true, "--dataset_mode cityscapes --label_dir L --image_dir I --crop_size 256 --label_nc 20 --batchSize 2 " +
            "--num_upsampling_layers normal").Options;
        Assert.Equal((20, 256, 512, 2), (typed.Data.LabelNc, typed.Data.CropSize, typed.Data.LoadSize, typed.Data.BatchSize));
        Assert.Equal(NumUpsamplingLayers.Normal, typed.Model.NumUpsamplingLayers);

        // Testing: the smaller load size of the reference's test options.
        Assert.Equal(256, Bind(false, "--dataset_mode ade20k --label_dir L --image_dir I").Options.Data.LoadSize);
    }

    [Fact]
    public void CocoDatarootGivesTheReferencesFolders()
    {
        var train = Bind(true, "--dataset_mode coco --dataroot /d").Options.Data;
        Assert.Equal((Path.Combine("/d", "train_label"), Path.Combine("/d", "train_img"), Path.Combine("/d", "train_inst")),
            (train.LabelDir, train.ImageDir, train.InstanceDir));
        var test = Bind(false, "--dataset_mode coco --dataroot /d --no_instance --how_many 3").Options.Data;
        Assert.Equal((Path.Combine("/d", "val_label"), Path.Combine("/d", "val_img"), (string?)null, 3),
            (test.LabelDir, test.ImageDir, test.InstanceDir, test.MaxDatasetSize));

        var e = Assert.Throws<GanSharpException>(() => Bind(true, "--dataset_mode ade20k --dataroot /d"));
        Assert.Contains("give --label-dir and --image-dir", e.Message);
        e = Assert.Throws<GanSharpException>(() => Bind(true, "--dataroot /d"));
        Assert.Contains("--dataroot needs --dataset_mode coco", e.Message);
    }

    [Fact]
    public void OptionsWithOneValueHereAreRefusedWithAnotherAndInertOnesSaySo()
    {
        Assert.Empty(Bind(true, "--label_dir L --image_dir I --netG spade --netD multiscale --optimizer adam --D_steps_per_G 1 --gpu_ids -1").Notes);
        var e = Assert.Throws<GanSharpException>(() => Bind(true, "--label_dir L --image_dir I --netD n_layer"));
        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.Contains("--netD n_layer is not available", e.Message);
        e = Assert.Throws<GanSharpException>(() => Bind(true, "--label_dir L --image_dir I --D_steps_per_G 2"));
        Assert.Contains("--d-steps", e.Message);

        var notes = Bind(true, "--label_dir L --image_dir I --no_html --gpu_ids 0,1 --nef 32").Notes;
        Assert.Equal(3, notes.Count);
        Assert.Contains(notes, n => n.StartsWith("--no_html has no effect", StringComparison.Ordinal));
        Assert.Contains(notes, n => n.StartsWith("--gpu_ids 0,1: GanSharp trains on the CPU", StringComparison.Ordinal));
    }

    [Fact]
    public void AnUnknownOptionGetsItsErrorAndTheHelpCommandNotTheWholeHelp()
    {
        var parse = Program.BuildRoot().Parse(["train", "--label_dir", "L", "--lables", "x"]);
        var error = new StringWriter();
        Assert.Equal(ExitCodes.Usage, Program.ReportParseErrors(parse, error));
        var lines = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.Contains("--lables", StringComparison.Ordinal));
        Assert.Equal("`gansharp train --help` lists the options.", lines[^1].Trim());
        Assert.True(lines.Length <= 4, error.ToString());

        var nested = Program.BuildRoot().Parse(["data", "validate", "--bogus"]);
        error = new StringWriter();
        Program.ReportParseErrors(nested, error);
        Assert.EndsWith("`gansharp data validate --help` lists the options.", error.ToString().Trim());
    }
}
