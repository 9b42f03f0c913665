using GanSharp.Data;
using GanSharp.Evaluation;

namespace GanSharp.Tests.Evaluation;

public sealed class SegmentationTests : IDisposable
{
    // Fake image (4x4): red | green on top, blue | dark below. The fixture segmenter's logits are (R, G, B, 0.5)
    // on [0, 1] RGB, so it predicts 0 | 1 over 2 | 3.
    private static readonly (byte, byte, byte)[] Colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (40, 40, 40)];
    private static readonly int[] Quadrant = [0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3];

    // Ground truth with two mistakes ((0,3): truth 2, predicted 1; (2,1): truth 3, predicted 2) and two don't-care pixels.
    private static readonly int[] Truth = [0, 0, 1, 2, 0, 255, 1, 1, 2, 3, 3, 3, 2, 2, 255, 3];

    // Hand count, rows = truth, columns = prediction, 5 classes (class 4 never occurs):
    //   t0: 3 0 0 0 | t1: 0 3 0 0 | t2: 0 1 3 0 | t3: 0 0 1 3   → 14 counted pixels, 12 correct.
    // IoU: c0 3/3, c1 3/(3+4−3)=0.75, c2 3/(4+4−3)=0.6, c3 3/(4+3−3)=0.75, c4 absent → mIoU 3.1/4 = 0.775.
    private static readonly long[,] ExpectedMatrix =
    {
        { 3, 0, 0, 0, 0 }, { 0, 3, 0, 0, 0 }, { 0, 1, 3, 0, 0 }, { 0, 0, 1, 3, 0 }, { 0, 0, 0, 0, 0 },
    };

    private readonly string dir = Path.Combine(Path.GetTempPath(), $"gansharp-seg-{Guid.NewGuid():N}");

    public SegmentationTests()
    {
        Directory.CreateDirectory(Path.Combine(dir, "fake"));
        Directory.CreateDirectory(Path.Combine(dir, "labels"));
        var img = new RgbImage(4, 4);
        var lab = new LabelMap(4, 4, (int[])Truth.Clone());
        for (int i = 0; i < 16; i++)
        {
            img[i % 4, i / 4] = Colours[Quadrant[i]];
        }
        ImageIO.WritePng(img, Path.Combine(dir, "fake", "scene.png"));
        LabelIO.WritePng(lab, Path.Combine(dir, "labels", "scene.png"));
    }

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Theory]
    [InlineData("seg_logits.onnx", SegmenterOutput.LogitsNchw)]
    [InlineData("seg_labels.onnx", SegmenterOutput.LabelMap)]
    public void OnnxSegmenterPredictsTheColourRule(string model, SegmenterOutput output)
    {
        using var seg = new OnnxSegmenter(EvalFixtures.PathOf(model), new SegmenterOptions(Output: output));
        Assert.Equal(Quadrant, seg.Predict(ImageIO.ReadRgb(Path.Combine(dir, "fake", "scene.png"))));
    }

    [Fact]
    public void ConfusionMatrixEqualsTheHandCount()
    {
        var cm = new ConfusionMatrix(5, 255);
        cm.Add(Truth, Quadrant, "scene");
        for (int t = 0; t < 5; t++)
            for (int p = 0; p < 5; p++)
                Assert.Equal(ExpectedMatrix[t, p], cm[t, p]);
        Assert.Equal(12.0 / 14, cm.PixelAccuracy, 15);
        Assert.Equal(0.775, cm.MeanIoU, 15);
        Assert.True(double.IsNaN(cm.ClassIoU()[4]));
    }

    [Fact]
    public void EvaluatorMIoUEndToEndEqualsTheHandCount()
    {
        var req = new EvaluationRequest(Path.Combine(dir, "fake"), null, [Metric.MIoU],
            Segmenter: EvalFixtures.PathOf("seg_logits.onnx"), LabelDir: Path.Combine(dir, "labels"), NumClasses: 5);
        var r = Evaluator.Run(req);
        Assert.Equal(0.775, r.Scores.Single(s => s.Name == "mIoU").Value, 15);
        Assert.Equal(12.0 / 14, r.Scores.Single(s => s.Name == "pixel accuracy").Value, 15);
        Assert.Equal([1.0, 0.75, 0.6, 0.75], r.ClassIoU!.Take(4));
    }

    [Fact]
    public void LabelOutsideTheClassesIsADataError()
    {
        var cm = new ConfusionMatrix(3, 255);
        var e = Assert.Throws<GanSharpException>(() => cm.Add(Truth, Quadrant, "scene"));
        Assert.Equal(ErrorKind.Data, e.Kind);
        Assert.Contains("scene", e.Message);
    }
}
