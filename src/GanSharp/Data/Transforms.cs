using GanSharp.Options;

namespace GanSharp.Data;

/// <summary>A square crop at (X, Y) in the resized image; it may run past the border, which reads as zeros.</summary>
public readonly record struct CropBox(int X, int Y, int Size);

/// <summary>
/// The geometry of one sample: resize target, optional crop, optional flip. Drawn once per sample and applied to
/// the label, the instance map and the photo alike, so they stay pixel-aligned.
/// </summary>
public sealed record TransformPlan(int SourceWidth, int SourceHeight, int ResizeWidth, int ResizeHeight, CropBox? Crop, bool Flip)
{
    public int OutputWidth => Crop?.Size ?? ResizeWidth;
    public int OutputHeight => Crop?.Size ?? ResizeHeight;
}

/// <summary>
/// The reference's preprocessing (NVlabs SPADE data/base_dataset.py get_params/get_transform), reimplemented:
/// resize, square crop, horizontal flip; photos bicubic, maps nearest.
/// </summary>
internal static class Transforms
{
    /// <summary>
    /// Draws crop position and flip the way the reference does (x, then y, then flip, always in that order so the
    /// stream does not depend on the mode) and works out the resize target.
    /// <para>
    /// One deliberate deviation: the reference's scale_shortside modes keep the short side at its original length
    /// and only scale the long one (a bug: the target is computed and then not used), which distorts the aspect
    /// ratio. Here the short side becomes load_size and the long side int(load_size * long / short).
    /// </para>
    /// </summary>
    public static TransformPlan Plan(DataOptions o, int width, int height, DeterministicRng rng, string source)
    {
        var (rw, rh) = ResizeTarget(o, width, height, source);
        bool crops = o.PreprocessMode is PreprocessMode.ResizeAndCrop or PreprocessMode.Crop
            or PreprocessMode.ScaleWidthAndCrop or PreprocessMode.ScaleShortsideAndCrop;
        // get_params uses the resized size only for the three "..._and_crop" modes; otherwise the original size
        // bounds the draw (it matters for the stream, not for the output, except in `crop`).
        var (pw, ph) = o.PreprocessMode is PreprocessMode.ResizeAndCrop or PreprocessMode.ScaleWidthAndCrop
            or PreprocessMode.ScaleShortsideAndCrop ? (rw, rh) : (width, height);
        int x = rng.NextInclusive(0, Math.Max(0, pw - o.CropSize));
        int y = rng.NextInclusive(0, Math.Max(0, ph - o.CropSize));
        bool flip = rng.NextDouble() > 0.5;
        return new TransformPlan(width, height, rw, rh,
            crops ? new CropBox(x, y, o.CropSize) : null,
            flip && o.IsTrain && !o.NoFlip);
    }

    /// <summary>The size after the resize step (before cropping), as the reference's get_transform computes it.</summary>
    public static (int Width, int Height) ResizeTarget(DataOptions o, int w, int h, string source)
    {
        (int W, int H) r = o.PreprocessMode switch
        {
            PreprocessMode.ResizeAndCrop => (o.LoadSize, o.LoadSize),
            PreprocessMode.Crop => (w, h),
            PreprocessMode.ScaleWidth or PreprocessMode.ScaleWidthAndCrop =>
                w == o.LoadSize ? (w, h) : (o.LoadSize, (int)((long)o.LoadSize * h / w)),
            PreprocessMode.ScaleShortside or PreprocessMode.ScaleShortsideAndCrop => ScaleShortside(w, h, o.LoadSize),
            // Python's round() rounds halves to even, as Math.Round does by default.
            PreprocessMode.Fixed => (o.CropSize, (int)Math.Round(o.CropSize / o.AspectRatio)),
            PreprocessMode.None => ((int)Math.Round(w / 32.0) * 32, (int)Math.Round(h / 32.0) * 32),
            _ => throw new ArgumentOutOfRangeException(nameof(o)),
        };
        if (r.W < 1 || r.H < 1)
            throw new GanSharpException(ErrorKind.Data,
                $"{source} is {w}x{h}, which {DataOptionSpecs.PreprocessMode.Flag} {ModeName(o.PreprocessMode)} turns into {r.W}x{r.H}: "
                    + "use a larger image or another "
                    + $"{DataOptionSpecs.PreprocessMode.Flag}.");
        return r;
    }

    private static (int, int) ScaleShortside(int w, int h, int load)
    {
        int ss = Math.Min(w, h), ls = Math.Max(w, h);
        if (ss == load) return (w, h);
        int newLong = (int)((long)load * ls / ss);
        return w == ss ? (load, newLong) : (newLong, load);
    }

    /// <summary>The reference's spelling of a mode (for messages and options files).</summary>
    public static string ModeName(PreprocessMode m) => m switch
    {
        PreprocessMode.ResizeAndCrop => "resize_and_crop",
        PreprocessMode.Crop => "crop",
        PreprocessMode.ScaleWidth => "scale_width",
        PreprocessMode.ScaleWidthAndCrop => "scale_width_and_crop",
        PreprocessMode.ScaleShortside => "scale_shortside",
        PreprocessMode.ScaleShortsideAndCrop => "scale_shortside_and_crop",
        PreprocessMode.Fixed => "fixed",
        PreprocessMode.None => "none",
        _ => throw new ArgumentOutOfRangeException(nameof(m)),
    };

    /// <summary>Parses the reference's spelling (also accepts kebab-case); null when unknown.</summary>
    public static PreprocessMode? ParseMode(string s) =>
        Enum.GetValues<PreprocessMode>().Cast<PreprocessMode?>()
            .FirstOrDefault(m => string.Equals(ModeName(m!.Value), s.Replace('-', '_'), StringComparison.OrdinalIgnoreCase));

    /// <summary>Applies a plan to a label or instance map with nearest-neighbour sampling (never interpolates ids).</summary>
    public static LabelMap ApplyNearest(LabelMap map, TransformPlan plan)
    {
        if (LeavesAsIs(plan, map.Width, map.Height)) return map;
        var resized = map.Width == plan.ResizeWidth && map.Height == plan.ResizeHeight
            ? map
            : Resample.Nearest(map, plan.ResizeWidth, plan.ResizeHeight);
        var outMap = new LabelMap(plan.OutputWidth, plan.OutputHeight);
        Place(resized.Values, resized.Width, resized.Height, 1, outMap.Values, plan);
        return outMap;
    }

    /// <summary>Applies a plan to a photo: PIL-compatible bicubic resize, crop, flip.</summary>
    public static RgbImage ApplyBicubic(RgbImage img, TransformPlan plan)
    {
        if (LeavesAsIs(plan, img.Width, img.Height)) return img;
        var resized = img.Width == plan.ResizeWidth && img.Height == plan.ResizeHeight
            ? img
            : Resample.Bicubic(img, plan.ResizeWidth, plan.ResizeHeight);
        var outImg = new RgbImage(plan.OutputWidth, plan.OutputHeight);
        Place(resized.Pixels, resized.Width, resized.Height, 3, outImg.Pixels, plan);
        return outImg;
    }

    private static bool LeavesAsIs(TransformPlan plan, int width, int height) =>
        plan.ResizeWidth == width && plan.ResizeHeight == height && plan.OutputWidth == width && plan.OutputHeight == height
        && (plan.Crop?.X ?? 0) == 0 && (plan.Crop?.Y ?? 0) == 0 && !plan.Flip;

    // The plan's crop and flip of an already resized image; outside it PIL's crop yields zeros, and so does this (dst
    // starts zeroed).
    private static void Place<T>(T[] src, int srcWidth, int srcHeight, int channels, T[] dst, TransformPlan plan)
    {
        int ow = plan.OutputWidth, oh = plan.OutputHeight;
        int cx = plan.Crop?.X ?? 0, cy = plan.Crop?.Y ?? 0;
        for (int y = 0; y < oh; y++)
        {
            int sy = y + cy;
            if ((uint)sy >= (uint)srcHeight) continue;
            for (int x = 0; x < ow; x++)
            {
                int sx = (plan.Flip ? ow - 1 - x : x) + cx;
                if ((uint)sx >= (uint)srcWidth) continue;
                int s = (sy * srcWidth + sx) * channels, d = (y * ow + x) * channels;
                for (int c = 0; c < channels; c++) dst[d + c] = src[s + c];
            }
        }
    }

    /// <summary>
    /// RGB bytes to planar float32 in [-1, 1], computed as torchvision's ToTensor + Normalize(0.5, 0.5) do
    /// ((v / 255 - 0.5) / 0.5 in float32), so values match the reference bit for bit.
    /// </summary>
    public static void ToNormalizedChw(RgbImage img, Span<float> dst)
    {
        int n = img.Width * img.Height;
        if (dst.Length != 3 * n) throw new ArgumentException($"expected {3 * n} floats", nameof(dst));
        var px = img.Pixels;
        for (int i = 0; i < n; i++)
        {
            for (int c = 0; c < 3; c++)
                dst[c * n + i] = (px[i * 3 + c] / 255f - 0.5f) / 0.5f;
        }
    }
}
