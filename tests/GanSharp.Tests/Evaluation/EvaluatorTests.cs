using GanSharp.Evaluation;

namespace GanSharp.Tests.Evaluation;

public sealed class EvaluatorTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), $"gansharp-eval-{Guid.NewGuid():N}");

    public EvaluatorTests()
    {
        Directory.CreateDirectory(Path.Combine(dir, "fake"));
        Directory.CreateDirectory(Path.Combine(dir, "real"));
    }

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string Fake => Path.Combine(dir, "fake");
    private string Real => Path.Combine(dir, "real");

    private static void Copy(string fixture, string folder, string name) =>
        File.Copy(EvalFixtures.PathOf(fixture), Path.Combine(folder, name));

    private static FidInceptionV3 DeterministicNet()
    {
        var net = new FidInceptionV3();
        DeterministicWeights.Fill(net);
        return net;
    }

    [Fact]
    public void FolderFidEqualsFidOfThePyTorchFeaturesAndReusesTheCache()
    {
        // fakes: astronaut, coffee; reals: astronaut_noise, coffee. PyTorch's pool3 rows are 0, 1, 2.
        Copy("astronaut.png", Fake, "a.png");
        Copy("coffee.png", Fake, "b.png");
        Copy("astronaut_noise.png", Real, "a.png");
        Copy("coffee.png", Real, "b.png");
        var pool = EvalFixtures.ReadF32("inception_pool3.f32").Select(v => (double)v).ToArray();
        FeatureMatrix Rows(params int[] r) => new(r.Length, 2048, r.SelectMany(i => pool[(i * 2048)..((i + 1) * 2048)]).ToArray());
        double expected = Frechet.Distance(GaussianStats.FromFeatures(Rows(0, 1)), GaussianStats.FromFeatures(Rows(2, 1)));

        var req = new EvaluationRequest(Fake, Real, [Metric.Fid, Metric.Kid], StatsCacheDir: Path.Combine(dir, "cache"));
        var first = Evaluator.RunWith(req, DeterministicNet, null, default);
        var second = Evaluator.RunWith(req, DeterministicNet, null, default);
        double fid = first.Scores.Single(s => s.Name == "FID").Value;
        Assert.True(Math.Abs(fid - expected) < 1e-3 * Math.Max(1, expected), $"ours {fid:R}, from PyTorch features {expected:R}");
        Assert.False(first.RealStatsFromCache);
        Assert.True(second.RealStatsFromCache);
        Assert.Equal(fid, second.Scores.Single(s => s.Name == "FID").Value);
        Assert.Single(Directory.GetFiles(Path.Combine(dir, "cache")));
        Assert.Contains("2 fakes", first.Scores[0].Protocol);
        Assert.Contains("PyTorchBilinear", first.Scores[0].Protocol);
        Assert.Contains("seed 0", first.Scores.Single(s => s.Name == "KID").Protocol);

        // a changed real image changes the content hash: no stale reuse
        File.Copy(EvalFixtures.PathOf("coffee_blur.png"), Path.Combine(Real, "b.png"), overwrite: true);
        Assert.False(Evaluator.RunWith(req, DeterministicNet, null, default).RealStatsFromCache);
    }

    [Fact]
    public void TrainingEvaluatorScoresGeneratorTensorsLikeTheirSavedImages()
    {
        // reals: astronaut, coffee; fakes: astronaut_noise, coffee as a generator tensor in [-1, 1] whose uint8
        // quantisation gives back the PNG bytes. Expected from PyTorch's pool3 rows (0, 1) and (2, 1).
        var reals = new[] { "astronaut.png", "coffee.png" }.Select(n => GanSharp.Data.ImageIO.ReadRgb(EvalFixtures.PathOf(n))).ToList();
        var fakes = new[] { "astronaut_noise.png", "coffee.png" }.Select(n => GanSharp.Data.ImageIO.ReadRgb(EvalFixtures.PathOf(n))).ToList();
        using var u8 = TorchSharp.torch.stack(
            fakes.Select(f => TorchSharp.torch.tensor(f.Pixels, [96, 96, 3], TorchSharp.torch.ScalarType.Byte).permute(2, 0, 1)).ToList());
        using var x = (u8.to_type(TorchSharp.torch.ScalarType.Float32) - 127.25f) / 127.5f;
        var pool = EvalFixtures.ReadF32("inception_pool3.f32").Select(v => (double)v).ToArray();
        FeatureMatrix Rows(params int[] r) => new(r.Length, 2048, r.SelectMany(i => pool[(i * 2048)..((i + 1) * 2048)]).ToArray());
        double expectedFid = Frechet.Distance(GaussianStats.FromFeatures(Rows(2, 1)), GaussianStats.FromFeatures(Rows(0, 1)));
        double expectedKid = FeatureMetrics.Kid(Rows(0, 1), Rows(2, 1), subsets: 1).Mean;

        using var ev = new TrainingEvaluator(new InceptionFeatureExtractor(DeterministicNet()), reals);
        var (fid, kid) = ev.Score(x, kidSubsets: 1);
        Assert.True(Math.Abs(fid - expectedFid) < 1e-3 * Math.Max(1, expectedFid), $"ours {fid:R}, from PyTorch features {expectedFid:R}");
        Assert.True(Math.Abs(kid.Mean - expectedKid) < 1e-5, $"ours {kid.Mean:R}, from PyTorch features {expectedKid:R}");
    }

    [Fact]
    public void PairedMetricsEqualScikitImageThroughFolders()
    {
        Copy("astronaut.png", Real, "x.png");
        Copy("astronaut_blur.png", Fake, "x.png");
        var r = Evaluator.Run(new EvaluationRequest(Fake, Real, [Metric.Ssim, Metric.Psnr]));
        var row = EvalFixtures.Expected.GetProperty("ssim_psnr").EnumerateArray()
            .Single(e => e.GetProperty("distorted").GetString() == "astronaut_blur.png");
        Assert.True(Math.Abs(r.Scores.Single(s => s.Name == "SSIM").Value - row.GetProperty("ssim_wang").GetDouble()) < 1e-6);
        Assert.True(Math.Abs(r.PerImage["psnr"]["x"] - row.GetProperty("psnr").GetDouble()) < 1e-6);
    }

    [Fact]
    public void UnpairedStemsAreListedInOneError()
    {
        Copy("astronaut.png", Real, "x.png");
        Copy("astronaut.png", Fake, "x.png");
        Copy("coffee.png", Fake, "y.png");
        Copy("camera.png", Fake, "z.jpg.png");
        var e = Assert.Throws<GanSharpException>(() => Evaluator.Run(new EvaluationRequest(Fake, Real, [Metric.Ssim])));
        Assert.Equal(ErrorKind.Data, e.Kind);
        Assert.Contains("2 fake image(s)", e.Message);
        Assert.Contains("y, z.jpg", e.Message);
    }

    [Fact]
    public void SizeMismatchedPairNamesTheStemAndBothSizes()
    {
        Copy("astronaut.png", Real, "x.png");
        Copy("resize_input.png", Fake, "x.png");
        var e = Assert.Throws<GanSharpException>(() => Evaluator.Run(new EvaluationRequest(Fake, Real, [Metric.Psnr])));
        Assert.Equal(ErrorKind.Data, e.Kind);
        Assert.Contains("pair x", e.Message);
        Assert.Contains("37x23 (fake) and 96x96 (real)", e.Message);
    }

    [Fact]
    public void FeatureMetricsWithoutWeightsSayWhereToGetThem()
    {
        Copy("astronaut.png", Real, "x.png");
        Copy("astronaut.png", Fake, "x.png");
        var e = Assert.Throws<GanSharpException>(() =>
            Evaluator.Run(new EvaluationRequest(Fake, Real, [Metric.Fid], InceptionWeights: Path.Combine(dir, "missing.pth"))));
        Assert.Equal(ErrorKind.BadInput, e.Kind);
        Assert.Contains(InceptionWeights.DownloadUrl, e.Message);
    }
}
