using GanSharp.Data;

namespace GanSharp.Evaluation;

/// <summary>Weighting of the SSIM window.</summary>
public enum SsimWindow
{
    /// <summary>Gaussian weights (σ = 1.5 gives the 11-tap window of Wang et al. 2004).</summary>
    Gaussian,
    /// <summary>A flat square window (scikit-image's default form, 7x7).</summary>
    Uniform,
}

/// <summary>SSIM settings, named after scikit-image's <c>structural_similarity</c> arguments.</summary>
/// <param name="Window">Gaussian or uniform weights.</param>
/// <param name="Sigma">Gaussian σ; the window radius is int(3.5·σ + 0.5) as scipy's truncate = 3.5.</param>
/// <param name="WinSize">Side of the uniform window (odd).</param>
/// <param name="SampleCovariance">Normalise (co)variances by N−1 instead of N (N = window pixels).</param>
/// <param name="K1">Luminance stabiliser: C1 = (K1·R)².</param>
/// <param name="K2">Contrast stabiliser: C2 = (K2·R)².</param>
public sealed record SsimOptions(
    SsimWindow Window = SsimWindow.Gaussian,
    double Sigma = 1.5,
    int WinSize = 7,
    bool SampleCovariance = false,
    double K1 = 0.01,
    double K2 = 0.03)
{
    /// <summary>Wang et al.: Gaussian σ = 1.5, population covariance (skimage with gaussian_weights=True, use_sample_covariance=False).</summary>
    public static SsimOptions Wang { get; } = new();

    /// <summary>scikit-image's defaults: 7x7 uniform window, sample covariance.</summary>
    public static SsimOptions Plain { get; } = new(SsimWindow.Uniform, SampleCovariance: true);

    internal int Radius => Window == SsimWindow.Gaussian ? (int)(3.5 * Sigma + 0.5) : (WinSize - 1) / 2;
}

/// <summary>
/// SSIM and PSNR equal to scikit-image's <c>structural_similarity</c> and <c>peak_signal_noise_ratio</c>: the SSIM
/// map is evaluated where the whole window fits (skimage's crop of the padded result), averaged, and averaged
/// again over channels. The data range is always explicit because it sets C1, C2 and the PSNR peak.
/// </summary>
internal static class ImageQuality
{
    /// <summary>
    /// Mean SSIM of two planar images: <paramref name="channels"/> planes of height×width doubles each, in
    /// channel-major order.
    /// </summary>
    public static double Ssim(double[] a, double[] b, int width, int height, int channels, double dataRange, SsimOptions? options = null)
    {
        var o = options ?? SsimOptions.Wang;
        CheckShapes(a, b, width, height, channels);
        if (o.Window == SsimWindow.Uniform && o.WinSize % 2 == 0)
            throw new GanSharpException(ErrorKind.Usage, $"the SSIM window size must be odd, got {o.WinSize}.");
        int r = o.Radius;
        if (width < 2 * r + 1 || height < 2 * r + 1)
            throw new GanSharpException(ErrorKind.Data,
                $"SSIM needs images of at least {2 * r + 1}x{2 * r + 1} pixels for its window, got {width}x{height}.");
        double[] kernel = Kernel(o, r);
        double sum = 0;
        int plane = width * height;
        for (int c = 0; c < channels; c++)
            sum += SsimPlane(a.AsSpan(c * plane, plane), b.AsSpan(c * plane, plane), width, height, kernel, r, dataRange, o);
        return sum / channels;
    }

    /// <summary>Mean SSIM of two 8-bit images (data range 255); grayscale images (R = G = B in both) are scored on one plane as skimage does for 2-D
    /// arrays.</summary>
    public static double Ssim(RgbImage a, RgbImage b, SsimOptions? options = null, double dataRange = 255)
    {
        CheckSameSize(a, b);
        var (pa, pb, ch) = Planes(a, b);
        return Ssim(pa, pb, a.Width, a.Height, ch, dataRange, options);
    }

    /// <summary>PSNR = 10·log10(R² / MSE) over all values; +∞ for identical inputs.</summary>
    public static double Psnr(double[] a, double[] b, double dataRange)
    {
        if (a.Length != b.Length || a.Length == 0) throw new ArgumentException("inputs must have the same, non-zero length", nameof(b));
        double se = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = a[i] - b[i];
            se += d * d;
        }
        double mse = se / a.Length;
        return 10 * Math.Log10(dataRange * dataRange / mse);
    }

    /// <summary>PSNR of two 8-bit images (data range 255 unless given).</summary>
    public static double Psnr(RgbImage a, RgbImage b, double dataRange = 255)
    {
        CheckSameSize(a, b);
        var (pa, pb, _) = Planes(a, b);
        return Psnr(pa, pb, dataRange);
    }

    /// <summary>True when every pixel of the image has R = G = B.</summary>
    public static bool IsGray(RgbImage img)
    {
        var p = img.Pixels;
        for (int i = 0; i < p.Length; i += 3)
            if (p[i] != p[i + 1] || p[i] != p[i + 2]) return false;
        return true;
    }

    private static (double[] A, double[] B, int Channels) Planes(RgbImage a, RgbImage b)
    {
        int ch = IsGray(a) && IsGray(b) ? 1 : 3;
        return (ToPlanes(a, ch), ToPlanes(b, ch), ch);
    }

    internal static double[] ToPlanes(RgbImage img, int channels)
    {
        int plane = img.Width * img.Height;
        var result = new double[plane * channels];
        var p = img.Pixels;
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < plane; i++)
                result[c * plane + i] = p[i * 3 + c];
        return result;
    }

    private static void CheckSameSize(RgbImage a, RgbImage b)
    {
        if (a.Width != b.Width || a.Height != b.Height)
            throw new GanSharpException(ErrorKind.Data,
                $"the paired images are {a.Width}x{a.Height} and {b.Width}x{b.Height}: paired metrics need equal sizes, so resize the fakes to the "
                    + $"reals' size.");
    }

    private static void CheckShapes(double[] a, double[] b, int width, int height, int channels)
    {
        long n = (long)width * height * channels;
        if (a.Length != n || b.Length != n)
            throw new ArgumentException($"expected {n} values for {channels}x{height}x{width}, got {a.Length} and {b.Length}", nameof(b));
    }

    private static double[] Kernel(SsimOptions o, int r)
    {
        var k = new double[2 * r + 1];
        if (o.Window == SsimWindow.Uniform)
        {
            Array.Fill(k, 1.0 / k.Length);
            return k;
        }
        double sum = 0;
        for (int i = -r; i <= r; i++)
        {
            k[i + r] = Math.Exp(-0.5 / (o.Sigma * o.Sigma) * i * i);
            sum += k[i + r];
        }
        for (int i = 0; i < k.Length; i++) k[i] /= sum;
        return k;
    }

    private static double SsimPlane(ReadOnlySpan<double> x, ReadOnlySpan<double> y, int w, int h, double[] k, int r,
        double dataRange, SsimOptions o)
    {
        // The five local moments are only needed where the window fits; skimage computes them everywhere with
        // padding and then crops exactly that border away, so the border mode never matters.
        int ow = w - 2 * r, oh = h - 2 * r;
        var rows = new double[5][];
        for (int q = 0; q < 5; q++) rows[q] = new double[h * ow];
        for (int yy = 0; yy < h; yy++)
            for (int xo = 0; xo < ow; xo++)
            {
                double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
                int baseIdx = yy * w + xo;
                for (int t = 0; t < k.Length; t++)
                {
                    double a = x[baseIdx + t], b = y[baseIdx + t], kt = k[t];
                    sx += kt * a;
                    sy += kt * b;
                    sxx += kt * a * a;
                    syy += kt * b * b;
                    sxy += kt * a * b;
                }
                int j = yy * ow + xo;
                rows[0][j] = sx; rows[1][j] = sy; rows[2][j] = sxx; rows[3][j] = syy; rows[4][j] = sxy;
            }
        int np = k.Length * k.Length;
        double covNorm = o.SampleCovariance ? (double)np / (np - 1) : 1.0;
        double c1 = (o.K1 * dataRange) * (o.K1 * dataRange);
        double c2 = (o.K2 * dataRange) * (o.K2 * dataRange);
        double total = 0;
        for (int yo = 0; yo < oh; yo++)
            for (int xo = 0; xo < ow; xo++)
            {
                double ux = 0, uy = 0, uxx = 0, uyy = 0, uxy = 0;
                for (int t = 0; t < k.Length; t++)
                {
                    int j = (yo + t) * ow + xo;
                    double kt = k[t];
                    ux += kt * rows[0][j];
                    uy += kt * rows[1][j];
                    uxx += kt * rows[2][j];
                    uyy += kt * rows[3][j];
                    uxy += kt * rows[4][j];
                }
                double vx = covNorm * (uxx - ux * ux);
                double vy = covNorm * (uyy - uy * uy);
                double vxy = covNorm * (uxy - ux * uy);
                double num = (2 * ux * uy + c1) * (2 * vxy + c2);
                double den = (ux * ux + uy * uy + c1) * (vx + vy + c2);
                total += num / den;
            }
        return total / ((double)ow * oh);
    }
}
