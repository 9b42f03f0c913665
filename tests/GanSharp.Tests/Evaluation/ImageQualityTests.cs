using GanSharp.Data;
using GanSharp.Evaluation;

namespace GanSharp.Tests.Evaluation;

public class ImageQualityTests
{
    public static TheoryData<int> Rows()
    {
        var d = new TheoryData<int>();
        int n = EvalFixtures.Expected.GetProperty("ssim_psnr").GetArrayLength();
        for (int i = 0; i < n; i++) d.Add(i);
        return d;
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void SsimAndPsnrEqualScikitImage(int row)
    {
        var e = EvalFixtures.Expected.GetProperty("ssim_psnr")[row];
        var a = ImageIO.ReadRgb(EvalFixtures.PathOf(e.GetProperty("reference").GetString()!));
        var b = ImageIO.ReadRgb(EvalFixtures.PathOf(e.GetProperty("distorted").GetString()!));
        Assert.Equal(e.GetProperty("grayscale").GetBoolean(), ImageQuality.IsGray(a) && ImageQuality.IsGray(b));

        AssertClose(e, "ssim_wang", ImageQuality.Ssim(a, b, SsimOptions.Wang));
        AssertClose(e, "ssim_plain", ImageQuality.Ssim(a, b, SsimOptions.Plain));
        AssertClose(e, "psnr", ImageQuality.Psnr(a, b));

        // the same pair scaled to [0, 1] with data range 1
        int ch = e.GetProperty("grayscale").GetBoolean() ? 1 : 3;
        var fa = ImageQuality.ToPlanes(a, ch).Select(v => v / 255.0).ToArray();
        var fb = ImageQuality.ToPlanes(b, ch).Select(v => v / 255.0).ToArray();
        AssertClose(e, "ssim_wang_unit", ImageQuality.Ssim(fa, fb, a.Width, a.Height, ch, 1.0, SsimOptions.Wang));
        AssertClose(e, "psnr_unit", ImageQuality.Psnr(fa, fb, 1.0));
    }

    private static void AssertClose(System.Text.Json.JsonElement e, string key, double ours)
    {
        double expected = e.GetProperty(key).GetDouble();
        Assert.True(Math.Abs(ours - expected) < 1e-6, $"{e.GetProperty("distorted").GetString()} {key}: ours {ours:R}, skimage {expected:R}");
    }

    [Fact]
    public void IdenticalImagesHaveSsimOneAndInfinitePsnr()
    {
        var a = ImageIO.ReadRgb(EvalFixtures.PathOf("coffee.png"));
        Assert.Equal(1.0, ImageQuality.Ssim(a, a), 12);
        Assert.True(double.IsPositiveInfinity(ImageQuality.Psnr(a, a)));
    }

    [Fact]
    public void SizeMismatchIsADataErrorNamingBothSizes()
    {
        var e = Assert.Throws<GanSharpException>(() => ImageQuality.Ssim(new RgbImage(16, 16), new RgbImage(16, 17)));
        Assert.Equal(ErrorKind.Data, e.Kind);
        Assert.Contains("16x16 and 16x17", e.Message);
    }
}
