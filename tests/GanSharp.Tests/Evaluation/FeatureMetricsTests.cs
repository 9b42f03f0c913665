using GanSharp.Evaluation;

namespace GanSharp.Tests.Evaluation;

public class FeatureMetricsTests
{
    private static System.Text.Json.JsonElement E(string group) => EvalFixtures.Expected.GetProperty(group);

    private static int[][] Rows(string name, int m)
    {
        var flat = EvalFixtures.ReadI32(name);
        return Enumerable.Range(0, flat.Length / m).Select(i => flat[(i * m)..((i + 1) * m)]).ToArray();
    }

    [Fact]
    public void KidOnFixedSubsetsEqualsNumpy()
    {
        var real = EvalFixtures.Matrix("kid_real.f64");
        var fake = EvalFixtures.Matrix("kid_fake.f64");
        int m = E("kid").GetProperty("subset_size").GetInt32();
        var values = FeatureMetrics.KidSubsets(real, fake, Rows("kid_subsets_real.i32", m), Rows("kid_subsets_fake.i32", m));
        double mean = values.Average();
        double std = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Length);
        Assert.Equal(100, values.Length);
        Assert.True(Math.Abs(values[0] - E("kid").GetProperty("first").GetDouble()) < 1e-10);
        Assert.True(Math.Abs(mean - E("kid").GetProperty("mean").GetDouble()) < 1e-10);
        Assert.True(Math.Abs(std - E("kid").GetProperty("std").GetDouble()) < 1e-10);
    }

    [Fact]
    public void KidWithOneSubsetOfEverythingEqualsNumpyAndIsSeedIndependent()
    {
        // with the subset size equal to both set sizes every draw is a permutation, so the value is fixed
        var real = EvalFixtures.Matrix("kid_real.f64");
        var fake = EvalFixtures.Matrix("kid_fake.f64");
        var real120 = new FeatureMatrix(120, real.Cols, real.Data[..(120 * real.Cols)]);
        var a = FeatureMetrics.Kid(real120, fake, subsets: 3, maxSubsetSize: 1000, seed: 1);
        var b = FeatureMetrics.Kid(real120, fake, subsets: 3, maxSubsetSize: 1000, seed: 2);
        double expected = E("kid").GetProperty("whole_120").GetDouble();
        Assert.Equal(120, a.SubsetSize);
        Assert.True(Math.Abs(a.Mean - expected) < 1e-10, $"{a.Mean:R} vs {expected:R}");
        Assert.True(Math.Abs(b.Mean - expected) < 1e-10);
        Assert.True(a.Std < 1e-12);
    }

    [Fact]
    public void KidIsReproducibleForASeed()
    {
        var real = EvalFixtures.Matrix("kid_real.f64");
        var fake = EvalFixtures.Matrix("kid_fake.f64");
        var a = FeatureMetrics.Kid(real, fake, subsets: 10, maxSubsetSize: 50, seed: 7);
        var b = FeatureMetrics.Kid(real, fake, subsets: 10, maxSubsetSize: 50, seed: 7);
        Assert.Equal(a, b);
        // and close to the NumPy mean over its own 100 subsets: the subset noise is the std / sqrt(10)
        Assert.True(Math.Abs(a.Mean - E("kid").GetProperty("mean").GetDouble()) < 3 * E("kid").GetProperty("std").GetDouble() / Math.Sqrt(10));
    }

    [Theory]
    [InlineData(200, 10, "splits10")]
    [InlineData(100, 3, "splits3")]
    public void InceptionScoreEqualsNumpy(int rows, int splits, string key)
    {
        var all = EvalFixtures.Matrix("is_logits.f32");
        var logits = new FeatureMatrix(rows, all.Cols, all.Data[..(rows * all.Cols)]);
        var r = FeatureMetrics.InceptionScore(logits, splits);
        var exp = E("is").GetProperty(key);
        Assert.True(Math.Abs(r.Mean - exp[0].GetDouble()) < 1e-9, $"{r.Mean:R} vs {exp[0].GetDouble():R}");
        Assert.True(Math.Abs(r.Std - exp[1].GetDouble()) < 1e-9);
    }

    [Fact]
    public void PrecisionRecallEqualNumpyWithK3()
    {
        var r = FeatureMetrics.PrecisionRecall(EvalFixtures.Matrix("pr_real.f64"), EvalFixtures.Matrix("pr_fake.f64"), 3);
        Assert.Equal(E("pr").GetProperty("precision").GetDouble(), r.Precision, 12);
        Assert.Equal(E("pr").GetProperty("recall").GetDouble(), r.Recall, 12);
    }
}
