using System.Globalization;
using GanSharp.Data;
using GanSharp.Interop.NVlabs;
using GanSharp.Losses;
using GanSharp.Models.Spade;

namespace GanSharp.Tests.Spade;

/// <summary>
/// Reading NVlabs SPADE options: Fixtures/reference-opt holds command lines and the opt.txt that the reference's
/// TrainOptions wrote for each (one per dataset mode, plus the parity fixtures' own).
/// </summary>
public class ReferenceOptionsTests
{
    public static IEnumerable<object[]> CommandLines() =>
        Directory.GetFiles(Fixtures.Path("reference-opt"), "*.argv.txt").Order(StringComparer.Ordinal)
            .Select(f => new object[] { Path.GetFileName(f)[..^".argv.txt".Length] });

    private static ReferenceOptions FromCommandLine(string name) =>
        ReferenceOptions.FromCommandLine(File.ReadAllText(Fixtures.Path("reference-opt", name + ".argv.txt")).Trim(), name);

    private static ReferenceOptions FromOptText(string name) =>
        ReferenceOptions.FromOptText(File.ReadAllText(Fixtures.Path("reference-opt", name + ".opt.txt")), name + ".opt.txt");

    [Theory, MemberData(nameof(CommandLines))]
    public void ACommandLineResolvesToWhatTheReferenceWroteInOptTxt(string name)
    {
        var ours = FromCommandLine(name).Values;
        var theirs = FromOptText(name).Values;
        var written = File.ReadAllLines(Fixtures.Path("reference-opt", name + ".opt.txt"))
            .Select(l => l.Split(':')[0].Trim()).Where(k => k.Length > 0 && k != "isTrain").ToList();
        Assert.True(written.Count > 60, $"{name}.opt.txt has only {written.Count} options");
        foreach (var key in written)
        {
            Assert.True(ours.ContainsKey(key), $"{name}: the command line does not resolve {key}");
            Assert.True(Same(ours[key], theirs[key]), $"{name}: {key} resolves to '{ours[key]}', the reference wrote '{theirs[key]}'");
        }
    }

    // "10" on a command line is the reference's 10.0.
    private static bool Same(string a, string b) =>
        a == b || (double.TryParse(a, NumberStyles.Float, CultureInfo.InvariantCulture, out var x)
                   && double.TryParse(b, NumberStyles.Float, CultureInfo.InvariantCulture, out var y) && x == y);

    [Fact]
    public void DatasetModesBringTheirDefaults()
    {
        var city = FromOptText("cityscapes").ToRunOptions();
        Assert.Equal(35, city.Model.LabelNc);
        Assert.False(city.Model.ContainDontcareLabel);
        Assert.False(city.Model.NoInstance);
        Assert.Equal(512, city.Model.CropSize);
        Assert.Equal(2.0, city.Model.AspectRatio);
        Assert.Equal(NumUpsamplingLayers.More, city.Model.NumUpsamplingLayers);
        Assert.Equal(16, city.Data.BatchSize);
        Assert.Equal(PreprocessMode.Fixed, city.Data.PreprocessMode);
        Assert.Equal((256, 512), city.Model.OutputSize);

        var ade = FromOptText("ade20k").ToRunOptions();
        Assert.Equal(150, ade.Model.LabelNc);
        Assert.True(ade.Model.ContainDontcareLabel);
        Assert.True(ade.Model.NoInstance);
        Assert.True(ade.Model.UseVae);
        Assert.True(ade.Optim.NoTtur);
        Assert.Equal((0.3, 0.999), ade.Optim.Betas);
        Assert.Equal((0.0002, 0.0002), ade.Optim.LearningRatesAt(1));
        Assert.Equal(200, ade.Optim.TotalEpochs);

        var custom = FromOptText("custom").ToRunOptions();
        Assert.Equal("/data/l", custom.Data.LabelDir);
        Assert.Equal("/data/i", custom.Data.ImageDir);
        Assert.Null(custom.Data.InstanceDir);
        Assert.Equal(20, custom.Model.LabelNc);
        Assert.True(custom.Model.NoInstance);
        Assert.Equal(4, custom.Data.BatchSize);
        Assert.Equal(PreprocessMode.ScaleWidthAndCrop, custom.Data.PreprocessMode);
        Assert.Equal("mine", custom.Run.Name);

        var facades = FromOptText("facades").ToRunOptions();
        Assert.Equal(AdversarialLoss.Original, facades.Loss.GanMode);
        Assert.True(facades.Data.NoFlip);
        Assert.True(facades.Model.NoInstance);
    }

    [Fact]
    public void TheParityConfigurationReadsAsTheTestsBuildIt()
    {
        var a = FromOptText("fixA");
        Assert.Equal(SpadeParityTests.ConfigA, a.Model);
        Assert.Equal(new SpadeLossOptions { GanMode = AdversarialLoss.Hinge, LambdaFeat = 10, NoVggLoss = true }, a.Loss);
        Assert.Equal((0.0001, 0.0004), a.Optim.LearningRatesAt(1));
        Assert.Equal((0.0, 0.9), a.Optim.Betas);
        Assert.Equal(2, a.ToRunOptions().Data.BatchSize);
    }

    [Theory]
    [InlineData("--netG pix2pixhd", "netG pix2pixhd")]
    [InlineData("--gan_mode wgan", "gan_mode is 'wgan'")]
    [InlineData("--dataset_mode lsun", "--dataset_mode lsun is not one of the reference's")]
    [InlineData("--num_upsampling_layers many", "num_upsampling_layers is 'many'")]
    [InlineData("--ngf", "--ngf needs a value")]
    [InlineData("ngf 3", "'ngf' is not an option")]
    [InlineData("--ngf three", "ngf is 'three', which is not a whole number")]
    public void OptionsGanSharpCannotBuildAreRefusedByName(string commandLine, string message)
    {
        var e = Assert.Throws<GanSharpException>(() => ReferenceOptions.FromCommandLine(commandLine, "cmd").ToRunOptions());
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void OurOwnOptTxtIsNotTakenForTheReferences()
    {
        Assert.True(ReferenceOptions.IsReferenceOptText(File.ReadAllText(Fixtures.Path("reference-opt", "fixA.opt.txt"))));
        var ours = new SpadeRunOptions { Data = DataOptions.Create("l", "i", isTrain: true), Model = new SpadeModelOptions { LabelNc = 3 } };
        Assert.False(ReferenceOptions.IsReferenceOptText(ours.ToOptText(ours)));
    }
}
