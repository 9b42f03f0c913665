using GanSharp.Data;

namespace GanSharp.Tests.Data;

public class ImageIOTests
{
    [Fact]
    public void PngRoundTripsEveryByte()
    {
        var img = new RgbImage(5, 3);
        for (int i = 0; i < img.Pixels.Length; i++) img.Pixels[i] = (byte)(i * 37 % 256);
        string path = Path.Combine(Path.GetTempPath(), $"gansharp-io-{Guid.NewGuid():N}.png");
        try
        {
            ImageIO.WritePng(img, path);
            var back = ImageIO.ReadRgb(path);
            Assert.Equal(5, back.Width);
            Assert.Equal(3, back.Height);
            Assert.Equal(img.Pixels, back.Pixels);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void MissingFileIsABadInputNamingThePath()
    {
        var e = Assert.Throws<GanSharpException>(() => ImageIO.ReadRgb("/nonexistent/x.png"));
        Assert.Equal(ErrorKind.BadInput, e.Kind);
        Assert.Contains("/nonexistent/x.png", e.Message);
    }
}
