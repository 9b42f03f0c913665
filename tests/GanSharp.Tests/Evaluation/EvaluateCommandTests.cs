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
        var (r, why) = Parse("evaluate --fake f --real r --metrics fid,KID,pr --inception-weights w.pth --resize tf1 --batch-size 8 --seed 3 --no-stats-cache");
        Assert.Equal([Metric.Fid, Metric.Kid, Metric.Pr], r.Metrics);
        Assert.Equal("w.pth", r.InceptionWeights);
        Assert.Equal(ResizeMode.Tf1LegacyBilinear, r.Resize);
        Assert.Equal(8, r.BatchSize);
        Assert.Equal(3, r.Seed);
        Assert.Null(r.StatsCacheDir);
        Assert.Equal("as requested", why);
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
        var r = Parse("evaluate --fake f --metrics miou --segmenter s.onnx --label-dir l --num-classes 35 --seg-layout nhwc --seg-output labels --seg-mean 0.485,0.456,0.406 --seg-std 0.229,0.224,0.225").Request;
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
