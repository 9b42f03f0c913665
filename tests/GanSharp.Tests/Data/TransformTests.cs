using GanSharp.Data;

namespace GanSharp.Tests.Data;

public class TransformTests
{
    private static DataOptions Opt(PreprocessMode mode, int load = 286, int crop = 256, double aspect = 1.0, bool train = true) =>
        DataOptions.Create("l", "i", train) with { PreprocessMode = mode, LoadSize = load, CropSize = crop, AspectRatio = aspect };

    public static TheoryData<PreprocessMode, int, int, int, int, int, int, int, int> Sizes => new()
    {
        // mode, source w, h, resize w, h, crop x max, crop y max, output w, h (load 286, crop 256)
        { PreprocessMode.ResizeAndCrop, 320, 240, 286, 286, 30, 30, 256, 256 },
        { PreprocessMode.ResizeAndCrop, 240, 320, 286, 286, 30, 30, 256, 256 },
        // crop: no resize; 240 rows < 256 so y stays 0 and the bottom 16 rows read as zeros.
        { PreprocessMode.Crop, 320, 240, 320, 240, 64, 0, 256, 256 },
        // 286 * 240 / 320 = 214.5 -> 214.
        { PreprocessMode.ScaleWidth, 320, 240, 286, 214, -1, -1, 286, 214 },
        // 286 * 320 / 240 = 381.33 -> 381.
        { PreprocessMode.ScaleWidth, 240, 320, 286, 381, -1, -1, 286, 381 },
        { PreprocessMode.ScaleWidthAndCrop, 320, 240, 286, 214, 30, 0, 256, 256 },
        { PreprocessMode.ScaleWidthAndCrop, 240, 320, 286, 381, 30, 125, 256, 256 },
        // Short side to 286, long side 286 * 320 / 240 = 381.
        { PreprocessMode.ScaleShortside, 320, 240, 381, 286, -1, -1, 381, 286 },
        { PreprocessMode.ScaleShortside, 240, 320, 286, 381, -1, -1, 286, 381 },
        { PreprocessMode.ScaleShortsideAndCrop, 320, 240, 381, 286, 125, 30, 256, 256 },
        { PreprocessMode.Fixed, 320, 240, 256, 256, -1, -1, 256, 256 },
        // 320 / 32 = 10 -> 320; 240 / 32 = 7.5 rounds half to even -> 8 -> 256.
        { PreprocessMode.None, 320, 240, 320, 256, -1, -1, 320, 256 },
        // 300 / 32 = 9.375 -> 288; 200 / 32 = 6.25 -> 192.
        { PreprocessMode.None, 300, 200, 288, 192, -1, -1, 288, 192 },
        // 80 / 32 = 2.5 -> 2 (half to even) -> 64; 48 / 32 = 1.5 -> 2 -> 64.
        { PreprocessMode.None, 80, 48, 64, 64, -1, -1, 64, 64 },
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void EveryModeGivesTheHandComputedSizesAndCropRange(PreprocessMode mode, int w, int h, int rw, int rh, int xMax, int yMax, int ow, int oh)
    {
        var o = Opt(mode);
        int seenMinX = int.MaxValue, seenMaxX = -1, seenMinY = int.MaxValue, seenMaxY = -1;
        for (int s = 0; s < 2000; s++)
        {
            var plan = Transforms.Plan(o, w, h, DeterministicRng.For(1, 2, s), "x.png");
            Assert.Equal((rw, rh), (plan.ResizeWidth, plan.ResizeHeight));
            Assert.Equal((ow, oh), (plan.OutputWidth, plan.OutputHeight));
            if (xMax < 0)
            {
                Assert.Null(plan.Crop);
                continue;
            }
            var c = plan.Crop!.Value;
            Assert.Equal(256, c.Size);
            seenMinX = Math.Min(seenMinX, c.X);
            seenMaxX = Math.Max(seenMaxX, c.X);
            seenMinY = Math.Min(seenMinY, c.Y);
            seenMaxY = Math.Max(seenMaxY, c.Y);
        }
        if (xMax >= 0)
        {
            // randint(0, max) is inclusive at both ends: 2000 draws reach both.
            Assert.Equal((0, xMax), (seenMinX, seenMaxX));
            Assert.Equal((0, yMax), (seenMinY, seenMaxY));
        }
    }

    [Theory]
    [InlineData(2.0, 256, 128)]
    [InlineData(1.5, 256, 171)] // 256 / 1.5 = 170.67
    [InlineData(0.5, 256, 512)]
    public void FixedUsesCropSizeAndAspectRatio(double aspect, int w, int h)
    {
        var plan = Transforms.Plan(Opt(PreprocessMode.Fixed, aspect: aspect), 333, 111, new DeterministicRng(1), "x.png");
        Assert.Equal((w, h), (plan.OutputWidth, plan.OutputHeight));
    }

    [Fact]
    public void ScaleWidthLeavesAnImageOfLoadWidthAlone()
    {
        var plan = Transforms.Plan(Opt(PreprocessMode.ScaleWidth), 286, 100, new DeterministicRng(1), "x.png");
        Assert.Equal((286, 100), (plan.ResizeWidth, plan.ResizeHeight));
    }

    [Fact]
    public void TestTimeNeverFlipsAndTrainingFlipsAboutHalfTheTime()
    {
        int flips = 0;
        for (int s = 0; s < 1000; s++)
        {
            Assert.False(Transforms.Plan(Opt(PreprocessMode.ResizeAndCrop, train: false) with { NoFlip = false }, 320, 240,
                DeterministicRng.For(5, 1, s), "x").Flip);
            Assert.False(Transforms.Plan(Opt(PreprocessMode.ResizeAndCrop) with { NoFlip = true }, 320, 240, DeterministicRng.For(5, 1, s),
                "x").Flip);
            if (Transforms.Plan(Opt(PreprocessMode.ResizeAndCrop), 320, 240, DeterministicRng.For(5, 1, s), "x").Flip) flips++;
        }
        Assert.InRange(flips, 440, 560);
    }

    [Fact]
    public void ModeTooSmallForNoneNamesTheFile()
    {
        var e = Assert.Throws<GanSharpException>(() => Transforms.Plan(Opt(PreprocessMode.None), 100, 15, new DeterministicRng(1),
            "labels/tiny.png"));
        Assert.Contains("labels/tiny.png", e.Message);
        Assert.Contains("100x15", e.Message);
    }

    [Fact]
    public void CropAndFlipKeepLabelInstanceAndPhotoAligned()
    {
        int w = 40, h = 30;
        var label = new LabelMap(w, h);
        var inst = new LabelMap(w, h);
        var photo = new RgbImage(w, h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int c = (x / 5 + 3 * (y / 5)) % 11;
                label[x, y] = c;
                inst[x, y] = c * 7 + 1;
                photo[x, y] = TinyData.Encode(c, x, y);
            }
        var o = Opt(PreprocessMode.Crop, crop: 16);
        int flipped = 0;
        for (int s = 0; s < 20; s++)
        {
            var plan = Transforms.Plan(o, w, h, DeterministicRng.For(9, 9, s), "x");
            var l = Transforms.ApplyNearest(label, plan);
            var i = Transforms.ApplyNearest(inst, plan);
            var p = Transforms.ApplyBicubic(photo, plan);
            var box = plan.Crop!.Value;
            if (plan.Flip) flipped++;
            for (int y = 0; y < 16; y++)
                for (int x = 0; x < 16; x++)
                {
                    int srcX = box.X + (plan.Flip ? 15 - x : x), srcY = box.Y + y;
                    var (r, g, b) = p[x, y];
                    Assert.Equal(label[srcX, srcY], l[x, y]);
                    Assert.Equal(l[x, y] * 20, r);
                    Assert.Equal(l[x, y] * 7 + 1, i[x, y]);
                    Assert.Equal((srcX, srcY), (g, b));
                }
        }
        Assert.InRange(flipped, 1, 19);
    }

    [Fact]
    public void ResizeAndCropKeepsClassesAlignedInsideRegions()
    {
        // 8x8 blocks; after nearest (labels) and bicubic (photo) scaling, pixels deep inside a block must agree exactly.
        int w = 64, h = 48;
        var label = new LabelMap(w, h);
        var photo = new RgbImage(w, h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int c = (x / 8 * 5 + y / 8 * 3) % 12;
                label[x, y] = c;
                photo[x, y] = ((byte)(c * 20), (byte)(c * 20), (byte)(c * 20));
            }
        var o = Opt(PreprocessMode.ResizeAndCrop, load: 80, crop: 72);
        for (int s = 0; s < 10; s++)
        {
            var plan = Transforms.Plan(o, w, h, DeterministicRng.For(4, 4, s), "x");
            var l = Transforms.ApplyNearest(label, plan);
            var p = Transforms.ApplyBicubic(photo, plan);
            int checkedPixels = 0;
            // Radius 3 output pixels = 2.4 source pixels, beyond the bicubic kernel's reach of 2.
            for (int y = 3; y < 69; y++)
                for (int x = 3; x < 69; x++)
                {
                    bool uniform = true;
                    for (int dy = -3; dy <= 3 && uniform; dy++)
                        for (int dx = -3; dx <= 3 && uniform; dx++)
                            uniform = l[x + dx, y + dy] == l[x, y];
                    if (!uniform) continue;
                    checkedPixels++;
                    Assert.Equal(l[x, y] * 20, p[x, y].R);
                }
            Assert.True(checkedPixels > 300, $"only {checkedPixels} interior pixels");
        }
    }

    [Theory]
    [InlineData(7, 5)]
    [InlineData(20, 14)]
    [InlineData(11, 9)]
    [InlineData(5, 16)]
    public void BicubicMatchesPillowByteForByte(int w, int h)
    {
        var src = ImageIO.ReadRgb(Fixture.Data("resample_src.png"));
        var expected = ImageIO.ReadRgb(Fixture.Data($"bicubic_{w}x{h}.png"));
        var got = Resample.Bicubic(src, w, h);
        Assert.Equal(expected.Pixels, got.Pixels);
    }

    [Theory]
    [InlineData(7, 5)]
    [InlineData(20, 14)]
    [InlineData(11, 9)]
    [InlineData(5, 16)]
    public void NearestMatchesPillow(int w, int h)
    {
        var src = LabelIO.Read(Fixture.Data("nearest_src.png"));
        var expected = LabelIO.Read(Fixture.Data($"nearest_{w}x{h}.npy"));
        Assert.Equal(expected.Values, Resample.Nearest(src, w, h).Values);
    }

    [Fact]
    public void NormalisationMapsBytesToMinusOneToOne()
    {
        var img = new RgbImage(2, 1, [0, 255, 128, 51, 102, 204]);
        var dst = new float[6];
        Transforms.ToNormalizedChw(img, dst);
        // Planar: R of both pixels, then G, then B.
        Assert.Equal(-1f, dst[0]);
        Assert.Equal(51 / 255f / 0.5f - 1f, dst[1], 6);
        Assert.Equal(1f, dst[2]);
        Assert.Equal((128 / 255f - 0.5f) / 0.5f, dst[4]);
    }
}
