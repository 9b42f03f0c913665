using GanSharp.Cli;
using GanSharp.Data;
using GanSharp.Interop;
using GanSharp.Tests.Reliability;
using CliRun = GanSharp.Tests.Reliability.Cli;

namespace GanSharp.Tests.Studio;

/// <summary><c>gansharp test</c> from label maps alone, and with a style photo through the VAE encoder.</summary>
public sealed class LabelOnlyTestTests
{
    [Fact]
    public void LabelMapsAloneGiveTheSamePicturesAsWithPhotosAndThePageHasNoRealColumn()
    {
        using var tiny = new TinySpade();
        string ck = tiny.Checkpoints;
        var (trained, log) = CliRun.Run(tiny.Train(ck, "--name", "plain", "--max-iterations", "2", "--threads", "1"));
        Assert.True(trained == 0, log);

        var (paired, pairedLog) = CliRun.Run(tiny.Test(ck, tiny.Dir.File("paired"), "--name", "plain"));
        Assert.True(paired == 0, pairedLog);
        var (alone, aloneLog) = CliRun.Run("test", "--label-dir", tiny.Info.ValLabelDir, "--instance-dir", tiny.Info.ValInstanceDir!,
            "--checkpoints-dir", ck, "--results-dir", tiny.Dir.File("alone"), "--name", "plain");
        Assert.True(alone == 0, aloneLog);

        string pairedPage = Path.Combine(tiny.Dir.File("paired"), "plain", "test_latest");
        string alonePage = Path.Combine(tiny.Dir.File("alone"), "plain", "test_latest");
        var synthesized = Directory.GetFiles(Path.Combine(pairedPage, "images", "synthesized_image")).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(2, synthesized.Count);
        foreach (var file in synthesized)
        {
            string twin = Path.Combine(alonePage, "images", "synthesized_image", Path.GetFileName(file));
            Assert.Equal(File.ReadAllBytes(file), File.ReadAllBytes(twin));
        }
        Assert.False(Directory.Exists(Path.Combine(alonePage, "images", "real_image")));
        string html = File.ReadAllText(Path.Combine(alonePage, "index.html"));
        Assert.Contains("input_label", html);
        Assert.DoesNotContain("real_image", html);

        var (styled, styledLog) = CliRun.Run(tiny.Test(ck, tiny.Dir.File("styled"), "--name", "plain", "--style-image", synthesized[0]));
        Assert.Equal(ExitCodes.Usage, styled);
        Assert.Contains("takes no style image", CliRun.Error(styledLog));
    }

    [Fact]
    public void AStylePhotoGoesThroughTheEncoderRepeatablyAndChangesThePicture()
    {
        using var tiny = new TinySpade();
        string ck = tiny.Checkpoints;
        var (trained, log) = CliRun.Run(tiny.Train(ck, "--name", "vae", "--use-vae", "--max-iterations", "2", "--threads", "1"));
        Assert.True(trained == 0, log);
        var photos = Directory.GetFiles(tiny.Info.TrainImageDir).Order(StringComparer.Ordinal).ToList();

        byte[] Synthesize(string results, string style)
        {
            var (code, output) = CliRun.Run("test", "--label-dir", tiny.Info.ValLabelDir, "--instance-dir", tiny.Info.ValInstanceDir!,
                "--checkpoints-dir", ck, "--results-dir", tiny.Dir.File(results), "--name", "vae", "--style-image", style);
            Assert.True(code == 0, output);
            string dir = Path.Combine(tiny.Dir.File(results), "vae", "test_latest", "images", "synthesized_image");
            return File.ReadAllBytes(Directory.GetFiles(dir).Order(StringComparer.Ordinal).First());
        }

        // At init gain 0.02 the tiny networks give pictures of +-0.004 around gray, and E's mean is so small that z is
        // the seeded noise whatever the photo. Scaled up, E's mean decides z and the picture spans the range.
        string runDir = Path.Combine(ck, "vae");
        Scale(Path.Combine(runDir, "latest_net_G.pth"), "conv_img", 500);
        Scale(Path.Combine(runDir, "latest_net_E.pth"), "fc_mu", 100);

        var first = Synthesize("a", photos[0]);
        Assert.Equal(first, Synthesize("b", photos[0]));
        var firstPixels = ImageIO.ReadRgb(first, "a").Pixels;
        var otherPixels = ImageIO.ReadRgb(Synthesize("c", photos[1]), "c").Pixels;
        double meanLevels = firstPixels.Zip(otherPixels, (x, y) => Math.Abs(x - y)).Average();
        Assert.True(meanLevels > 2, $"another style photo changed the picture by {meanLevels:F3} levels on average");

        var (missing, missingLog) = CliRun.Run("test", "--label-dir", tiny.Info.ValLabelDir, "--checkpoints-dir", ck, "--results-dir",
            tiny.Dir.File("d"), "--name", "vae", "--style-image", tiny.Dir.File("nowhere.png"));
        Assert.Equal(ExitCodes.BadInput, missing);
        Assert.Contains("does not exist", CliRun.Error(missingLog));
    }

    private static void Scale(string pth, string layer, float factor)
    {
        using var sd = PthReader.ReadStateDict(pth);
        sd[layer + ".weight"].mul_(factor);
        sd[layer + ".bias"].mul_(factor);
        PthWriter.WriteStateDict(pth, sd);
    }
}
