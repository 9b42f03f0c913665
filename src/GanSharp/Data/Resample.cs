namespace GanSharp.Data;

/// <summary>
/// Resamplers that reproduce Pillow's <c>Image.resize</c>, which torchvision's Resize calls for PIL images and
/// hence what the reference trains on. Written here rather than taken from SkiaSharp: Skia's cubic sampling
/// (Mitchell or Catmull-Rom kernels, no support widening on downscale) gives visibly different, aliased
/// downscales.
/// </summary>
internal static class Resample
{
    /// <summary>Pillow keeps 8-bit coefficients as fixed point with 22 fractional bits (32 - 8 - 2).</summary>
    private const int PrecisionBits = 32 - 8 - 2;

    /// <summary>
    /// Nearest neighbour as Pillow's NEAREST: output pixel x samples source floor((x + 0.5) * in / out), computed
    /// exactly in integers (Pillow uses fixed point and can differ in rare ties on huge images).
    /// </summary>
    public static LabelMap Nearest(LabelMap src, int width, int height)
    {
        var xs = NearestIndex(src.Width, width);
        var ys = NearestIndex(src.Height, height);
        var dst = new LabelMap(width, height);
        for (int y = 0; y < height; y++)
        {
            int row = ys[y] * src.Width;
            for (int x = 0; x < width; x++)
                dst.Values[y * width + x] = src.Values[row + xs[x]];
        }
        return dst;
    }

    internal static int[] NearestIndex(int inSize, int outSize)
    {
        var idx = new int[outSize];
        for (int i = 0; i < outSize; i++)
            idx[i] = (int)Math.Min(inSize - 1, (2L * i + 1) * inSize / (2L * outSize));
        return idx;
    }

    /// <summary>
    /// Bicubic (a = -0.5) with Pillow's antialiasing: on a downscale the kernel is stretched by the scale factor so
    /// every source pixel contributes. Horizontal pass first, then vertical, each rounded to 8 bits in between, with
    /// Pillow's fixed-point coefficients and rounding, so results equal Pillow's byte for byte in the cases tested.
    /// </summary>
    public static RgbImage Bicubic(RgbImage src, int width, int height)
    {
        byte[] pixels = src.Pixels;
        int w = src.Width, h = src.Height;
        if (width != w)
        {
            pixels = Pass(pixels, w, h, width, horizontal: true);
            w = width;
        }
        if (height != h)
        {
            pixels = Pass(pixels, w, h, height, horizontal: false);
            h = height;
        }
        return new RgbImage(w, h, ReferenceEquals(pixels, src.Pixels) ? (byte[])pixels.Clone() : pixels);
    }

    private static double Cubic(double x)
    {
        const double a = -0.5;
        x = Math.Abs(x);
        if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
        if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
        return 0.0;
    }

    /// <summary>Per output index: first source index and fixed-point weights.</summary>
    private static (int[] Start, int[][] Weights) Coefficients(int inSize, int outSize)
    {
        double scale = (double)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0);
        double support = 2.0 * filterScale;
        var start = new int[outSize];
        var weights = new int[outSize][];
        var k = new double[(int)Math.Ceiling(support) * 2 + 1];
        for (int o = 0; o < outSize; o++)
        {
            double center = (o + 0.5) * scale;
            int xmin = Math.Max(0, (int)(center - support + 0.5));
            int xmax = Math.Min(inSize, (int)(center + support + 0.5)) - xmin;
            double total = 0;
            for (int i = 0; i < xmax; i++)
            {
                k[i] = Cubic((i + xmin - center + 0.5) / filterScale);
                total += k[i];
            }
            var fixedK = new int[xmax];
            for (int i = 0; i < xmax; i++)
            {
                double v = total != 0 ? k[i] / total : k[i];
                fixedK[i] = (int)(v < 0 ? Math.Truncate(-0.5 + v * (1 << PrecisionBits)) : Math.Truncate(0.5 + v * (1 << PrecisionBits)));
            }
            start[o] = xmin;
            weights[o] = fixedK;
        }
        return (start, weights);
    }

    private static byte Clip8(int acc)
    {
        if (acc >= (1 << PrecisionBits) << 8) return 255;
        if (acc <= 0) return 0;
        return (byte)(acc >> PrecisionBits);
    }

    private static byte[] Pass(byte[] src, int w, int h, int outSize, bool horizontal)
    {
        int inSize = horizontal ? w : h;
        var (start, weights) = Coefficients(inSize, outSize);
        int ow = horizontal ? outSize : w, oh = horizontal ? h : outSize;
        var dst = new byte[ow * oh * 3];
        const int half = 1 << (PrecisionBits - 1);
        // One pass filters along rows or along columns: the taps of an output pixel are 3 bytes apart in a row and
        // a row apart in a column.
        int step = horizontal ? 3 : w * 3;
        for (int y = 0; y < oh; y++)
        {
            for (int x = 0; x < ow; x++)
            {
                int o = horizontal ? x : y;
                int s = start[o];
                var k = weights[o];
                int p = horizontal ? (y * w + s) * 3 : (s * w + x) * 3;
                int r = half, g = half, b = half;
                for (int i = 0; i < k.Length; i++, p += step)
                {
                    r += src[p] * k[i];
                    g += src[p + 1] * k[i];
                    b += src[p + 2] * k[i];
                }
                int d = (y * ow + x) * 3;
                dst[d] = Clip8(r);
                dst[d + 1] = Clip8(g);
                dst[d + 2] = Clip8(b);
            }
        }
        return dst;
    }
}
