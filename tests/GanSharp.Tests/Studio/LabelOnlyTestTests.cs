using GanSharp.Cli;
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

        var first = Synthesize("a", photos[0]);
        Assert.Equal(first, Synthesize("b", photos[0]));
        Assert.NotEqual(first, Synthesize("c", photos[1]));

        var (missing, missingLog) = CliRun.Run("test", "--label-dir", tiny.Info.ValLabelDir, "--checkpoints-dir", ck, "--results-dir",
            tiny.Dir.File("d"), "--name", "vae", "--style-image", tiny.Dir.File("nowhere.png"));
        Assert.Equal(ExitCodes.BadInput, missing);
        Assert.Contains("does not exist", CliRun.Error(missingLog));
    }
}
