using GanSharp.Data;

namespace GanSharp.Tests.Data;

public class LabelIOTests
{
    private static int[] NpyValues(string name) => LabelIO.Read(Fixture.Data(name)).Values;

    [Fact]
    public void PalettePngsWrittenByPillowReadAsTheirIndicesNotColours()
    {
        var expected = NpyValues("palette_values.npy");
        var (map8, kind8) = LabelIO.ReadWithKind(Fixture.Data("palette8.png"));
        var (map4, kind4) = LabelIO.ReadWithKind(Fixture.Data("palette4.png"));
        Assert.Equal(LabelFileKind.Palette, kind8);
        Assert.Equal(LabelFileKind.Palette, kind4);
        Assert.Equal((10, 6), (map8.Width, map8.Height));
        Assert.Equal(expected, map8.Values);
        Assert.Equal(expected, map4.Values);
        Assert.True(map8.Max() <= 11);
    }

    [Fact]
    public void Gray16WrittenByPillowReadsEveryValue()
    {
        var (map, kind) = LabelIO.ReadWithKind(Fixture.Data("gray16.png"));
        Assert.Equal(LabelFileKind.Gray16, kind);
        Assert.Equal(NpyValues("gray16_values.npy"), map.Values);
        Assert.True(map.Max() > 255);
    }

    [Fact]
    public void OneBitGrayReadsRawSamples()
    {
        Assert.Equal(NpyValues("gray1_values.npy"), LabelIO.Read(Fixture.Data("gray1.png")).Values);
    }

    [Fact]
    public void HandBuiltPalettePngRoundTripsToTheSameIndices()
    {
        using var dir = new TempDir();
        var map = new LabelMap(9, 4);
        for (int i = 0; i < map.Values.Length; i++) map.Values[i] = i * 5 % 17;
        // Two entries share a colour: only indices keep them apart.
        var palette = new byte[17 * 3];
        palette[3] = palette[6] = 200;
        string path = dir.File("p.png");
        LabelIO.WritePalettePng(map, palette, path);
        var (back, kind) = LabelIO.ReadWithKind(path);
        Assert.Equal(LabelFileKind.Palette, kind);
        Assert.Equal(map.Values, back.Values);
    }

    [Fact]
    public void WritePngPicks8BitBelow256And16BitAbove()
    {
        using var dir = new TempDir();
        var small = new LabelMap(3, 2, [0, 1, 2, 253, 254, 255]);
        var large = new LabelMap(3, 2, [0, 256, 1000, 7001, 65535, 3]);
        LabelIO.WritePng(small, dir.File("a.png"));
        LabelIO.WritePng(large, dir.File("b.png"));
        Assert.Equal((3, 2, LabelFileKind.Gray8), LabelIO.ReadInfo(dir.File("a.png")));
        Assert.Equal((3, 2, LabelFileKind.Gray16), LabelIO.ReadInfo(dir.File("b.png")));
        Assert.Equal(small.Values, LabelIO.Read(dir.File("a.png")).Values);
        Assert.Equal(large.Values, LabelIO.Read(dir.File("b.png")).Values);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }

    [Fact]
    public void Int32InstanceIdsRoundTripThroughNpy()
    {
        using var dir = new TempDir();
        var map = new LabelMap(4, 2, [0, 65536, 26_000_123, int.MaxValue, 7, 8, 9, 100_000]);
        var e = Assert.Throws<GanSharpException>(() => LabelIO.WritePng(map, dir.File("x.png")));
        Assert.Contains(".npy", e.Message);
        LabelIO.WriteNpy(map, dir.File("x.npy"));
        var (back, kind) = LabelIO.ReadWithKind(dir.File("x.npy"));
        Assert.Equal(LabelFileKind.Npy, kind);
        Assert.Equal((4, 2), (back.Width, back.Height));
        Assert.Equal(map.Values, back.Values);
    }

    [Fact]
    public void ColourPngIsRefusedWithTheConvertHint()
    {
        using var dir = new TempDir();
        string path = dir.File("colour.png");
        File.WriteAllBytes(path, PngCodec.EncodeRgb(2, 1, [1, 2, 3, 4, 5, 6]));
        var e = Assert.Throws<GanSharpException>(() => LabelIO.Read(path));
        Assert.Equal(ErrorKind.Data, e.Kind);
        Assert.Contains("colour.png", e.Message);
        Assert.Contains("gansharp data convert", e.Message);
    }

    [Fact]
    public void EveryRowFilterDecodes()
    {
        // 8-bit gray, 5 rows, row y uses filter y (None, Sub, Up, Average, Paeth), encoded by hand.
        int w = 6, h = 5;
        var values = new int[w * h];
        for (int i = 0; i < values.Length; i++) values[i] = (i * 53 + 11) % 256;
        var raw = new byte[(w + 1) * h];
        for (int y = 0; y < h; y++)
        {
            raw[y * (w + 1)] = (byte)y;
            for (int x = 0; x < w; x++)
            {
                int cur = values[y * w + x];
                int a = x > 0 ? values[y * w + x - 1] : 0;
                int b = y > 0 ? values[(y - 1) * w + x] : 0;
                int c = x > 0 && y > 0 ? values[(y - 1) * w + x - 1] : 0;
                int pred = y switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    _ => PaethRef(a, b, c),
                };
                raw[y * (w + 1) + 1 + x] = (byte)(cur - pred);
            }
        }
        var png = PngCodec.Decode(PngCodec.Assemble(w, h, 8, PngColorType.Gray, null, raw), "filters");
        Assert.Equal(values, png.Samples);
    }

    private static int PaethRef(int a, int b, int c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    [Fact]
    public void Adam7InterlacedImageDecodes()
    {
        int w = 11, h = 7;
        var values = new int[w * h];
        for (int i = 0; i < values.Length; i++) values[i] = (i * 97 + 5) % 256;
        int[] x0 = [0, 4, 0, 2, 0, 1, 0], y0 = [0, 0, 4, 0, 2, 0, 1], dx = [8, 8, 4, 4, 2, 2, 1], dy = [8, 8, 8, 4, 4, 2, 2];
        var raw = new List<byte>();
        for (int p = 0; p < 7; p++)
            for (int y = y0[p]; y < h; y += dy[p])
            {
                if (x0[p] >= w) break;
                raw.Add(0);
                for (int x = x0[p]; x < w; x += dx[p]) raw.Add((byte)values[y * w + x]);
            }
        var png = PngCodec.Decode(PngCodec.Assemble(w, h, 8, PngColorType.Gray, null, raw.ToArray(), interlaced: true), "adam7");
        Assert.Equal(values, png.Samples);
    }

    [Fact]
    public void RgbPngFromSkiaDecodesToTheSameBytesAsSkia()
    {
        // Skia picks its own filters per row; agreement with Skia's decoder covers them on real encoder output.
        var src = ImageIO.ReadRgb(Fixture.Data("resample_src.png"));
        var png = PngCodec.Read(Fixture.Data("resample_src.png"));
        Assert.Equal(PngColorType.Rgb, png.ColorType);
        Assert.Equal(src.Pixels.Select(b => (int)b).ToArray(), png.Samples);
    }

    [Fact]
    public void CorruptCrcNamesTheFile()
    {
        var bytes = PngCodec.EncodeGray(2, 2, [1, 2, 3, 4], 8);
        bytes[20] ^= 0xFF; // inside IHDR data
        var e = Assert.Throws<GanSharpException>(() => PngCodec.Decode(bytes, "labels/bad.png"));
        Assert.Contains("labels/bad.png", e.Message);
        Assert.Contains("CRC", e.Message);
    }
}
