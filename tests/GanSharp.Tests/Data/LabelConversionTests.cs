using GanSharp.Data;

namespace GanSharp.Tests.Data;

public class LabelConversionTests
{
    private static RgbImage Colours(params (byte, byte, byte)[] px)
    {
        var img = new RgbImage(px.Length, 1);
        for (int i = 0; i < px.Length; i++) img[i, 0] = px[i];
        return img;
    }

    [Fact]
    public void WithoutAColormapColoursAreNumberedInRgbOrderAndTheTableIsWritten()
    {
        using var dir = new TempDir();
        string input = dir.Sub("in"), output = dir.Sub("out");
        ImageIO.WritePng(Colours((200, 0, 0), (0, 0, 255), (0, 0, 255)), Path.Combine(input, "a.png"));
        ImageIO.WritePng(Colours((0, 128, 0), (200, 0, 0), (0, 0, 0)), Path.Combine(input, "b.png"));
        var r = LabelConversion.ConvertFolder(input, output, null);
        Assert.Equal(2, r.Files);
        Assert.Equal(4, r.LabelNc);
        Assert.True(r.ColormapWritten);
        // Sorted colours: (0,0,0)=0, (0,0,255)=1, (0,128,0)=2, (200,0,0)=3.
        Assert.Equal(new[] { 3, 1, 1 }, LabelIO.Read(Path.Combine(output, "a.png")).Values);
        Assert.Equal(new[] { 2, 3, 0 }, LabelIO.Read(Path.Combine(output, "b.png")).Values);
        // The written table reads back to the same numbering.
        var table = LabelConversion.ReadColormap(r.ColormapPath);
        Assert.Equal(3, table[(200 << 16)]);
        Assert.Equal(1, table[255]);
    }

    [Fact]
    public void AColormapIsAppliedAndAnUnlistedColourIsNamed()
    {
        using var dir = new TempDir();
        string input = dir.Sub("in"), output = dir.Sub("out");
        ImageIO.WritePng(Colours((128, 64, 128), (70, 70, 70)), Path.Combine(input, "road.png"));
        File.WriteAllText(dir.File("map.txt"), "# cityscapes-like\n7 128 64 128\n11 70 70 70\n");
        var r = LabelConversion.ConvertFolder(input, output, dir.File("map.txt"));
        Assert.Equal(12, r.LabelNc);
        Assert.Equal(new[] { 7, 11 }, LabelIO.Read(Path.Combine(output, "road.png")).Values);

        ImageIO.WritePng(Colours((128, 64, 128), (1, 2, 3)), Path.Combine(input, "zz.png"));
        var e = Assert.Throws<GanSharpException>(() => LabelConversion.ConvertFolder(input, output, dir.File("map.txt")));
        Assert.Contains("1 colours are not in", e.Message);
        Assert.Contains("(1, 2, 3) on 1 pixels, first " + Path.Combine(input, "zz.png") + " at pixel (1, 0)", e.Message);
    }

    [Fact]
    public void PhotosAreNotMistakenForColourLabels()
    {
        using var dir = new TempDir();
        string input = dir.Sub("in");
        var photo = new RgbImage(40, 40);
        var rng = new DeterministicRng(8);
        for (int i = 0; i < photo.Pixels.Length; i++) photo.Pixels[i] = (byte)rng.NextInclusive(0, 255);
        ImageIO.WritePng(photo, Path.Combine(input, "photo.png"));
        var e = Assert.Throws<GanSharpException>(() => LabelConversion.ConvertFolder(input, dir.Sub("out"), null));
        Assert.Contains("photo.png", e.Message);
        Assert.Contains("above 1024", e.Message);
    }
}
