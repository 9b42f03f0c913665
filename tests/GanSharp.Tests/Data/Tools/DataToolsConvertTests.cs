using GanSharp.Data;

namespace GanSharp.Tests.Data.Tools;

public sealed class DataToolsConvertTests
{
    private const string CamVidLikeCsv = "name,r,g,b\nSky,128,128,128\nRoad,128,64,128\nCar,64,0,128\n";

    private static RgbImage Image(int w, int h, Func<int, int, (byte, byte, byte)> colour)
    {
        var img = new RgbImage(w, h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) img[x, y] = colour(x, y);
        return img;
    }

    [Fact]
    public void A_csv_palette_converts_exactly_and_unknown_colours_are_counted()
    {
        using var tmp = new TempDir();
        string input = tmp.Sub("in"), output = tmp.Sub("out");
        File.WriteAllText(tmp.File("class_dict.csv"), CamVidLikeCsv);
        // Top half sky, bottom half road, a 2x2 car and, in b.png only, 3 pixels of an unlisted orange.
        (byte, byte, byte) Scene(int x, int y) => x < 2 && y >= 6 ? ((byte)64, (byte)0, (byte)128)
            : y < 4 ? ((byte)128, (byte)128, (byte)128) : ((byte)128, (byte)64, (byte)128);
        ImageIO.WritePng(Image(8, 8, Scene), Path.Combine(input, "a.png"));
        ImageIO.WritePng(Image(8, 8, (x, y) => y == 0 && x < 3 ? ((byte)255, (byte)128, (byte)0) : Scene(x, y)), Path.Combine(input, "b.png"));

        var e = Assert.Throws<GanSharpException>(() => LabelConversion.Convert(new ConversionOptions
        {
            InputDir = input, OutputDir = output,
            ClassTable = tmp.File("class_dict.csv")
        }));
        Assert.Contains("(255, 128, 0) on 3 pixels, first " + Path.Combine(input, "b.png") + " at pixel (0, 0)", e.Message);
        Assert.False(File.Exists(Path.Combine(output, "b.png")));

        var r = LabelConversion.Convert(new ConversionOptions
        {
            InputDir = input, OutputDir = output, ClassTable = tmp.File("class_dict.csv"),
            UnknownTo255 = true
        });
        Assert.Equal(3, r.LabelNc);
        var u = Assert.Single(r.Unknown);
        Assert.Equal(((byte)255, (byte)128, (byte)0), u.Rgb);
        Assert.Equal(3, u.Pixels);
        var a = LabelIO.Read(Path.Combine(output, "a.png"));
        Assert.Equal(0, a[5, 0]);
        Assert.Equal(1, a[5, 7]);
        Assert.Equal(2, a[1, 7]);
        Assert.Equal(32, a.Values.Count(v => v == 0));
        Assert.Equal(4, a.Values.Count(v => v == 2));
        var b = LabelIO.Read(Path.Combine(output, "b.png"));
        Assert.Equal([255, 255, 255, 0], b.Values.Take(4));
        Assert.Equal("name,r,g,b,index\nSky,128,128,128,0\nRoad,128,64,128,1\nCar,64,0,128,2\n", File.ReadAllText(r.ClassesPath));

        // A second run with the same table leaves the finished outputs alone.
        var again = LabelConversion.Convert(new ConversionOptions
        {
            InputDir = input, OutputDir = output, ClassTable = tmp.File("class_dict.csv"),
            UnknownTo255 = true
        });
        Assert.Equal(2, again.Skipped);
    }

    [Fact]
    public void A_json_table_reads_names_and_explicit_indices()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp.File("t.json"), """[{"name":"sky","r":1,"g":2,"b":3,"index":5},{"name":"sea","r":0,"g":0,"b":255}]""");
        var t = LabelConversion.ReadClassTable(tmp.File("t.json"));
        Assert.Equal((5, "sky"), t[(1 << 16) | (2 << 8) | 3]);
        Assert.Equal((1, "sea"), t[255]);
    }

    [Fact]
    public void Colour_instances_become_ids_with_black_as_background()
    {
        using var tmp = new TempDir();
        string input = tmp.Sub("inst"), output = tmp.Sub("ids");
        ImageIO.WritePng(Image(4, 1, (x, _) => x switch
        {
            0 => ((byte)0, (byte)0, (byte)0),
            1 => ((byte)9, (byte)9, (byte)9),
            2 => ((byte)1, (byte)0, (byte)0),
            _ => ((byte)9, (byte)9, (byte)9)
        }), Path.Combine(input, "f.png"));
        Assert.Equal(1, LabelConversion.ConvertInstanceFolder(input, output));
        Assert.Equal([0, 2, 1, 2], LabelIO.Read(Path.Combine(output, "f.png")).Values);
        Assert.Throws<GanSharpException>(() => LabelConversion.Convert(new ConversionOptions { InputDir = input, OutputDir = input }));
    }
}
