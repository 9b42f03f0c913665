using static TorchSharp.torch;

namespace GanSharp.Evaluation;

/// <summary>Mean and covariance (N−1 normalised, as <c>np.cov</c>) of a feature set.</summary>
public sealed record GaussianStats(int Count, int Dim, double[] Mean, double[] Covariance)
{
    /// <summary>Statistics of the rows of <paramref name="features"/> (needs at least two rows).</summary>
    public static GaussianStats FromFeatures(FeatureMatrix features)
    {
        if (features.Rows < 2)
            throw new GanSharpException(ErrorKind.Data, $"FID needs at least 2 images per side, got {features.Rows}: add images to the folder.");
        using var scope = NewDisposeScope();
        var x = tensor(features.Data, [features.Rows, features.Cols], ScalarType.Float64);
        var mu = x.mean([0]);
        var centred = x - mu;
        var cov = centred.t().matmul(centred) / (features.Rows - 1);   // [d, d]
        return new GaussianStats(features.Rows, features.Cols, mu.data<double>().ToArray(), cov.contiguous().data<double>().ToArray());
    }
}

/// <summary>
/// The Fréchet distance between two Gaussians, ‖μ1−μ2‖² + tr(Σ1) + tr(Σ2) − 2·tr((Σ1Σ2)^½), computed in double
/// with pytorch-fid's safeguards: an eps offset on both diagonals when the square root is not finite, and an
/// error when the square root has a large imaginary part.
/// </summary>
internal static class Frechet
{
    /// <summary>Diagonal offset pytorch-fid retries with when the product's square root is not finite.</summary>
    public const double DefaultEps = 1e-6;

    /// <summary>Imaginary parts above this make pytorch-fid refuse the result; so do we.</summary>
    public const double ImaginaryTolerance = 1e-3;

    /// <summary>FID of two statistics of the same dimension.</summary>
    public static double Distance(GaussianStats a, GaussianStats b, double eps = DefaultEps)
    {
        if (a.Dim != b.Dim)
            throw new GanSharpException(ErrorKind.Data,
                $"the two feature sets have {a.Dim} and {b.Dim} dimensions: compute both with the same network.");
        using var scope = NewDisposeScope();
        int d = a.Dim;
        var s1 = tensor(a.Covariance, [d, d], ScalarType.Float64);
        var s2 = tensor(b.Covariance, [d, d], ScalarType.Float64);
        double trSqrt = TraceSqrtProduct(s1, s2, out bool finite, out double imaginary);
        if (!finite)
        {
            var offset = eye(d, dtype: ScalarType.Float64) * eps;
            trSqrt = TraceSqrtProduct(s1 + offset, s2 + offset, out finite, out imaginary);
            if (!finite)
                throw new GanSharpException(ErrorKind.Data,
                    "the feature covariance is not finite even with the eps offset: the features contain NaN or Inf, check the images and the "
                        + "weights.");
        }
        if (imaginary > ImaginaryTolerance)
            throw new GanSharpException(ErrorKind.Data,
                $"the square root of the covariance product has an imaginary component of {imaginary:G3} (limit {ImaginaryTolerance}): use more "
                    + $"images than feature dimensions.");
        double diff = 0;
        for (int i = 0; i < d; i++)
        {
            double t = a.Mean[i] - b.Mean[i];
            diff += t * t;
        }
        double tr1 = 0, tr2 = 0;
        for (int i = 0; i < d; i++)
        {
            tr1 += a.Covariance[i * d + i];
            tr2 += b.Covariance[i * d + i];
        }
        return diff + tr1 + tr2 - 2 * trSqrt;
    }

    /// <summary>
    /// tr((S1·S2)^½) through the symmetric similar matrix S1^½·S2·S1^½ (same eigenvalues, no complex arithmetic):
    /// the trace of the principal square root is the sum of the square roots of the eigenvalues. Eigenvalues that
    /// rounding pushed below zero would make scipy's sqrtm complex; their imaginary size is reported, their real
    /// contribution is zero, as in pytorch-fid which keeps the real part.
    /// </summary>
    internal static double TraceSqrtProduct(Tensor s1, Tensor s2, out bool finite, out double maxImaginary)
    {
        using var scope = NewDisposeScope();
        finite = s1.isfinite().all().item<bool>() && s2.isfinite().all().item<bool>();
        maxImaginary = 0;
        if (!finite) return double.NaN;
        var (w1, v1) = linalg.eigh((s1 + s1.t()) / 2);
        var root1 = (v1 * w1.clamp_min(0).sqrt().unsqueeze(0)).matmul(v1.t());   // S1^½
        var m = root1.matmul(s2).matmul(root1);
        var w = linalg.eigvalsh((m + m.t()) / 2).data<double>().ToArray();
        double sum = 0;
        foreach (double e in w)
        {
            if (!double.IsFinite(e))
            {
                finite = false;
                return double.NaN;
            }
            if (e >= 0) sum += Math.Sqrt(e);
            else maxImaginary = Math.Max(maxImaginary, Math.Sqrt(-e));
        }
        return sum;
    }
}
