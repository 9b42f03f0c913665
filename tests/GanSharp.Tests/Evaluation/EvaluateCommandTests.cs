using GanSharp.Cli;
using GanSharp.Cli.Commands;
using GanSharp.Evaluation;

namespace GanSharp.Tests.Evaluation;

/// <summary>Parse-only tests of <c>gansharp evaluate</c>: nothing runs.</summary>
public class EvaluateCommandTests
{
    private static (EvaluationRequest Request, string Why) Parse(string line)
    {
        var parse = Program.BuildRoot().Parse(line);
        Assert.Empty(parse.Errors);
        return EvaluateCommand.BuildRequest(parse);
    }

    [Fact]
    public void ExplicitMetricsAndOptionsReachTheRequest()
    {
        var (r, why) = Parse("evaluate --fake f --real r --metrics fid,KID,pr --inception-weights w.pth --resize tf1 --batch-size 8 --seed 3 " +
            "--no-stats-cache");
        Assert.Equal([Metric.Fid, Metric.Kid, Metric.Pr], r.Metrics);
        Assert.Equal("w.pth", r.InceptionWeights);
        Assert.Equal(ResizeMode.Tf1LegacyBilinear, r.Resize);
        Assert.Equal(8, r.BatchSize);
        Assert.Equal(3, r.Seed);
        Assert.Null(r.StatsCacheDir);
        Assert.Equal("as requested", why);
    }

    [Fact]
    public void ARunsTestPageGivesTheFakeAndRealFolders()
    {
        var (r, _) = Parse("evaluate --results results/city/test_latest");
        Assert.Equal(Path.Combine("results/city/test_latest", "images", "synthesized_image"), r.FakeDir);
        Assert.Equal(Path.Combine("results/city/test_latest", "images", "real_image"), r.RealDir);
        Assert.Equal("other", Parse("evaluate --results x --real other").Request.RealDir);
        var e = Assert.Throws<GanSharpException>(() => Parse("evaluate --results x --fake y"));
        Assert.Contains("either --fake", e.Message);
    }

    [Fact]
    public void DefaultMetricsFollowTheWeights()
    {
        if (Environment.GetEnvironmentVariable(InceptionWeights.EnvironmentVariable) is not null) return;
        Assert.Equal([Metric.Ssim, Metric.Psnr], Parse("evaluate --fake f --real r").Request.Metrics);
        Assert.Equal([Metric.Fid, Metric.Kid], Parse("evaluate --fake f --real r --inception-weights w.pth").Request.Metrics);
        Assert.Equal([Metric.Ssim, Metric.Psnr, Metric.MIoU], Parse("evaluate --fake f --real r --segmenter s.onnx").Request.Metrics);
    }

    [Fact]
    public void SegmenterOptionsAreParsed()
    {
        var r = Parse("evaluate --fake f --metrics miou --segmenter s.onnx --label-dir l --num-classes 35 --seg-layout nhwc --seg-output labels " +
            "--seg-mean 0.485,0.456,0.406 --seg-std 0.229,0.224,0.225").Request;
        Assert.Equal(SegmenterLayout.Nhwc, r.SegmenterOptions!.Layout);
        Assert.Equal(SegmenterOutput.LabelMap, r.SegmenterOptions.Output);
        Assert.Equal([0.485, 0.456, 0.406], r.SegmenterOptions.Mean!);
        Assert.Equal(35, r.NumClasses);
    }

    [Theory]
    [InlineData("evaluate --fake f --metrics fid,lpips", "lpips")]
    [InlineData("evaluate --fake f --resize area", "--resize area")]
    [InlineData("evaluate --fake f --seg-mean 1,2", "three")]
    public void BadValuesAreOneSentenceUsageErrors(string line, string mention)
    {
        var e = Assert.Throws<GanSharpException>(() => EvaluateCommand.BuildRequest(Program.BuildRoot().Parse(line)));
        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.Contains(mention, e.Message);
        Assert.Equal(ExitCodes.Usage, ExitCodes.For(e.Kind));
    }
}

public sealed class EvaluateCommandRunTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), $"gansharp-evalcli-{Guid.NewGuid():N}");

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void SsimPsnrRunWritesJsonEqualToScikitImage()
    {
        Directory.CreateDirectory(Path.Combine(dir, "real"));
        Directory.CreateDirectory(Path.Combine(dir, "fake"));
        foreach (var n in new[] { "camera", "coffee" })
        {
            File.Copy(EvalFixtures.PathOf($"{n}.png"), Path.Combine(dir, "real", $"{n}.png"));
            File.Copy(EvalFixtures.PathOf($"{n}_noise.png"), Path.Combine(dir, "fake", $"{n}.png"));
        }
        string json = Path.Combine(dir, "out", "scores.json");
        int rc = GanSharp.Tests.Reliability.Cli.Run(["evaluate", "--fake", Path.Combine(dir, "fake"),
            "--real", Path.Combine(dir, "real"),
            "--metrics", "ssim,psnr", "--json", json]).Code;
        Assert.Equal(ExitCodes.Ok, rc);
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json));
        var rows = EvalFixtures.Expected.GetProperty("ssim_psnr").EnumerateArray().ToList();
        foreach (var n in new[] { "camera", "coffee" })
        {
            var row = rows.Single(r => r.GetProperty("distorted").GetString() == $"{n}_noise.png");
            Assert.True(Math.Abs(doc.RootElement.GetProperty("per_image").GetProperty("ssim").GetProperty(n).GetDouble()
                - row.GetProperty("ssim_wang").GetDouble()) < 1e-6);
            Assert.True(Math.Abs(doc.RootElement.GetProperty("per_image").GetProperty("psnr").GetProperty(n).GetDouble()
                - row.GetProperty("psnr").GetDouble()) < 1e-6);
        }
        var ssimMean = rows.Where(r => r.GetProperty("distorted").GetString() is "camera_noise.png" or "coffee_noise.png")
            .Average(r => r.GetProperty("ssim_wang").GetDouble());
        var score = doc.RootElement.GetProperty("scores").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "SSIM");
        Assert.True(Math.Abs(score.GetProperty("value").GetDouble() - ssimMean) < 1e-6);
        Assert.Contains("Gaussian", score.GetProperty("protocol").GetString());
    }

    [Fact]
    public void UnpairedStemsExitWithTheDataCode()
    {
        Directory.CreateDirectory(Path.Combine(dir, "real"));
        Directory.CreateDirectory(Path.Combine(dir, "fake"));
        File.Copy(EvalFixtures.PathOf("camera.png"), Path.Combine(dir, "real", "a.png"));
        File.Copy(EvalFixtures.PathOf("camera.png"), Path.Combine(dir, "fake", "b.png"));
        int rc = GanSharp.Tests.Reliability.Cli.Run(["evaluate", "--fake", Path.Combine(dir, "fake"),
            "--real", Path.Combine(dir, "real"), "--metrics", "psnr"]).Code;
        Assert.Equal(ExitCodes.DataInvalid, rc);
    }
}
