using GanSharp.Evaluation;

namespace GanSharp.Tests.Evaluation;

public class FrechetTests
{
    private static GaussianStats Stats(string name) => GaussianStats.FromFeatures(EvalFixtures.Matrix(name));

    private static double Expected(string key) => EvalFixtures.Expected.GetProperty("fid").GetProperty(key).GetDouble();

    [Fact]
    public void MeanAndCovarianceEqualNumpyWithNMinusOne()
    {
        var s = Stats("fid_a.f64");
        var mu = EvalFixtures.ReadF64("fid_a_mu.f64");
        var sigma = EvalFixtures.ReadF64("fid_a_sigma.f64");
        Assert.Equal(300, s.Count);
        Assert.True(mu.Zip(s.Mean).Max(p => Math.Abs(p.First - p.Second)) < 1e-12);
        Assert.True(sigma.Zip(s.Covariance).Max(p => Math.Abs(p.First - p.Second)) < 1e-10);
    }

    [Theory]
    [InlineData("fid_a.f64", "fid_b.f64", "a_b")]
    [InlineData("fid_a.f64", "fid_a.f64", "a_a")]
    [InlineData("fid_b.f64", "fid_d.f64", "b_d")]   // d: two nearly collinear columns, eigenvalues ~1e-12
    [InlineData("fid_a.f64", "fid_c.f64", "a_c")]   // c: 24 samples in 32 dimensions, a singular covariance
    [InlineData("fid_c.f64", "fid_d.f64", "c_d")]
    [InlineData("fid_c.f64", "fid_c.f64", "c_c")]   // exact value 0; both land near -3e-6 from the rank deficiency
    public void FrechetDistanceEqualsScipySqrtm(string a, string b, string key)
    {
        double fid = Frechet.Distance(Stats(a), Stats(b));
        Assert.True(Math.Abs(fid - Expected(key)) < 1e-6, $"{key}: ours {fid:R}, scipy {Expected(key):R}");
    }

    [Fact]
    public void DifferentDimensionsAreRefused()
    {
        var a = new GaussianStats(2, 1, [0.0], [1.0]);
        var b = new GaussianStats(2, 2, [0.0, 0.0], [1.0, 0, 0, 1.0]);
        var e = Assert.Throws<GanSharpException>(() => Frechet.Distance(a, b));
        Assert.Equal(ErrorKind.Data, e.Kind);
    }
}
