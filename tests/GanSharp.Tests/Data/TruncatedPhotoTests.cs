using GanSharp.Cli;
using GanSharp.Data;
using GanSharp.Data.Tools;
using GanSharp.Tests.Evaluation;

namespace GanSharp.Tests.Data;

/// <summary>A photo cut short (an interrupted copy or download) is refused by name wherever photos are read.</summary>
public sealed class TruncatedPhotoTests
{
    private static RgbImage Noise(int w, int h, int seed)
    {
        var img = new RgbImage(w, h);
        new Random(seed).NextBytes(img.Pixels);
        return img;
    }

    private static void Truncate(string path, int length)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.True(length < bytes.Length);
        File.WriteAllBytes(path, bytes[..length]);
    }

    [Theory]
    [InlineData("png", 100)]
    [InlineData("png", -2)] // half the file
    [InlineData("jpg", 400)]
    [InlineData("jpg", -2)]
    public void TruncatedPhotoIsRefusedNamingTheFile(string ext, int length)
    {
        using var dir = new TempDir();
        string path = dir.File("photo." + ext);
        if (ext == "png") ImageIO.WritePng(Noise(48, 40, 1), path);
        else ImageIO.WriteJpeg(Noise(48, 40, 1), path, 90);
        Assert.Equal(48, ImageIO.ReadRgb(path).Width);
        Truncate(path, length > 0 ? length : (int)new FileInfo(path).Length / -length);

        var e = Assert.Throws<GanSharpException>(() => ImageIO.ReadRgb(path));
        Assert.Equal(ErrorKind.BadInput, e.Kind);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
        Assert.Equal(e.Message, Assert.Throws<GanSharpException>(() => ImageIO.Verify(path)).Message);
    }

    [Fact]
    public void HeaderClaimingMorePixelsThanTheFileCanHoldIsRefusedBeforeDecoding()
    {
        // A 1x1 PNG whose IHDR says 40000x40000 (6.4 GB of RGBA) with its CRC fixed: SkiaSharp would allocate first.
        var png = PngCodec.EncodeRgb(1, 1, [1, 2, 3]);
        var chunks = Fuzz.PngTamper.Chunks(png);
        var ihdr = (byte[])chunks[0].Data.Clone();
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(ihdr, 40000);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), 40000);
        chunks[0] = ("IHDR", ihdr);
        var e = Assert.Throws<GanSharpException>(() => ImageIO.ReadRgb(Fuzz.PngTamper.Write(chunks), "big.png"));
        Assert.Equal(ErrorKind.BadInput, e.Kind);
        Assert.Contains("big.png claims a size of 40000x40000", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Four pairs whose third photo is cut to its first 100 bytes (header intact, pixels gone).</summary>
    private static (DataOptions Options, string Photo) DataSetWithTruncatedPhoto(TempDir dir)
    {
        var options = TinyData.Write(dir, 4, 32, 24, instances: false);
        string photo = Directory.GetFiles(options.ImageDir).Order().ElementAt(2);
        Truncate(photo, 100);
        return (options, photo);
    }

    [Fact]
    public void DatasetScanRefusesTheTruncatedPhotoForValidateTrainAndAudit()
    {
        using var dir = new TempDir();
        var (options, photo) = DataSetWithTruncatedPhoto(dir);
        // SpadeDataset.Open is the scan that data validate, data audit, train and test run first.
        var e = Assert.Throws<GanSharpException>(() => SpadeDataset.Open(options with { NoInstance = true }, cacheDirectory: ""));
        Assert.Equal(ErrorKind.BadInput, e.Kind);
        Assert.Contains(photo, e.Message, StringComparison.Ordinal);
        var audit = Assert.Throws<GanSharpException>(() => DataAudit.Run(new AuditOptions
        {
            Data = options with { NoInstance = true },
            CacheDirectory = ""
        }));
        Assert.Contains(photo, audit.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("validate")]
    [InlineData("audit")]
    public void DataVerbExitsWithTheBadInputCodeOnATruncatedPhoto(string verb)
    {
        using var dir = new TempDir();
        var (options, _) = DataSetWithTruncatedPhoto(dir);
        string[] args = ["data", verb, "--label-dir", options.LabelDir, "--image-dir", options.ImageDir, "--label-nc", "5", "--no-instance",
            "--preprocess-mode", "none", .. verb == "audit" ? new[] { "--report", dir.File("audit.html") } : []];
        Assert.Equal(ExitCodes.BadInput, GanSharp.Tests.Reliability.Cli.Run(args).Code);
    }

    [Fact]
    public void EvaluateExitsWithTheBadInputCodeOnATruncatedFake()
    {
        using var dir = new TempDir();
        string real = dir.Sub("real"), fake = dir.Sub("fake");
        foreach (var n in new[] { "camera", "coffee" })
        {
            File.Copy(EvalFixtures.PathOf($"{n}.png"), Path.Combine(real, $"{n}.png"));
            File.Copy(EvalFixtures.PathOf($"{n}_noise.png"), Path.Combine(fake, $"{n}.png"));
        }
        Truncate(Path.Combine(fake, "coffee.png"), 100);
        int rc = GanSharp.Tests.Reliability.Cli.Run(["evaluate", "--fake", fake, "--real", real, "--metrics", "ssim,psnr"]).Code;
        Assert.Equal(ExitCodes.BadInput, rc);
    }
}
