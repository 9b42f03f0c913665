using System.Buffers.Binary;
using System.Text;
using GanSharp.Interop;
using static TorchSharp.torch;

namespace GanSharp.Tests.Interop;

/// <summary>
/// Real checkpoints (written by PyTorch 1.13) damaged region by region and cut at every 64th of their length: each
/// must end in the one Checkpoint sentence that names the file, never a .NET exception.
/// </summary>
public sealed class DamagedCheckpointTests
{
    private const string Sentence = "is cut short or damaged";

    /// <summary>A byte range of a zip file and what it holds.</summary>
    private sealed record Region(string Name, int Start, int Length);

    /// <summary>The records of a zip file, found from its end record as a reader does.</summary>
    private static List<Region> ZipRegions(byte[] zip)
    {
        int end = -1;
        for (int i = zip.Length - 22; i >= 0 && end < 0; i--)
            if (BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(i)) == 0x06054b50) end = i;
        Assert.True(end > 0, "no end record");
        int cdSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(end + 12));
        int cdOffset = (int)BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(end + 16));
        var regions = new List<Region>();
        int pos = cdOffset;
        while (pos < cdOffset + cdSize)
        {
            int compressed = (int)BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(pos + 20));
            int nameLen = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(pos + 28));
            int extraLen = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(pos + 30));
            int commentLen = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(pos + 32));
            int local = (int)BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(pos + 42));
            string name = Encoding.UTF8.GetString(zip, pos + 46, nameLen);
            int localHeader = 30 + BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(local + 26))
                + BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(local + 28));
            regions.Add(new Region($"local header of {name}", local, localHeader));
            if (compressed > 0) regions.Add(new Region(name, local + localHeader, compressed));
            pos += 46 + nameLen + extraLen + commentLen;
        }
        regions.Add(new Region("central directory", cdOffset, cdSize));
        regions.Add(new Region("end record", end, zip.Length - end));
        return regions;
    }

    private static GanSharpException Refused(byte[] bytes, string path)
    {
        using var ms = new MemoryStream(bytes, writable: false);
        var e = Assert.Throws<GanSharpException>(() => PthReader.ReadStateDict(ms, path).Dispose());
        Assert.Equal(ErrorKind.Checkpoint, e.Kind);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        return e;
    }

    [Fact]
    public void EveryRegionOfAZipCheckpointDamagedGivesTheSentence()
    {
        const string path = "checkpoints/city/latest_net_D.pth";
        var original = File.ReadAllBytes(Fixtures.SpadeTiny("A_D_init.pth"));
        var regions = ZipRegions(original);
        using var intact = PthReader.ReadStateDict(Fixtures.SpadeTiny("A_D_init.pth"));
        Assert.Contains(regions, r => r.Name.EndsWith("data.pkl", StringComparison.Ordinal));
        int storages = regions.Count(r => r.Name.Contains("/data/", StringComparison.Ordinal)
            && !r.Name.StartsWith("local", StringComparison.Ordinal));
        Assert.True(storages > 10, $"{storages} storages");
        foreach (var region in regions)
        {
            var bytes = (byte[])original.Clone();
            // Every byte of the region inverted: the record cannot pass for an intact one.
            for (int i = region.Start; i < region.Start + region.Length; i++) bytes[i] ^= 0xFF;
            if (region.Name.EndsWith("/version", StringComparison.Ordinal))
            {
                // The format version record is never opened by the reader, so damage there changes nothing.
                using var ms = new MemoryStream(bytes);
                using var sd = PthReader.ReadStateDict(ms, path);
                Assert.Equal(intact.Keys, sd.Keys);
                Assert.True(sd.Entries.All(kv => kv.Value.eq(intact[kv.Key]).all().item<bool>()), region.Name);
                continue;
            }
            var e = Refused(bytes, path);
            // A storage payload is caught by its CRC; the first local header carries the "PK" that tells a zip file: without it the file is no
            // checkpoint.
            Assert.True(e.Message.Contains(region.Start == 0 ? "neither a zip-format" : Sentence, StringComparison.Ordinal),
                $"{region.Name}: {e.Message}");
        }
    }

    [Fact]
    public void StorageBytesChangedWithAMatchingCrcReadAsOtherNumbers()
    {
        // The one damage the reader cannot see: payload bytes changed and the CRCs rewritten to match (an edit, not
        // a transfer error). The tensor then reads with the new bytes.
        using var dir = Fixtures.TempDir();
        using var sd = new StateDict();
        sd.Add("w", tensor(new[] { 1f, 2f, 3f }));
        string path = dir.File("w.pth");
        PthWriter.WriteStateDict(path, sd);
        var zip = File.ReadAllBytes(path);
        var storage = ZipRegions(zip).Single(r => r.Name == "archive/data/0");
        BinaryPrimitives.WriteSingleLittleEndian(zip.AsSpan(storage.Start + 4), 5f);
        uint crc = Crc32.Compute(zip.AsSpan(storage.Start, storage.Length));
        foreach (int at in new[] { FindLocal(zip, storage) + 14, FindCentral(zip, "archive/data/0") + 16 })
            BinaryPrimitives.WriteUInt32LittleEndian(zip.AsSpan(at), crc);
        using var ms = new MemoryStream(zip);
        using var back = PthReader.ReadStateDict(ms, path);
        Assert.Equal(new[] { 1f, 5f, 3f }, back["w"].data<float>().ToArray());
    }

    private static int FindLocal(byte[] zip, Region storage) =>
        ZipRegions(zip).Single(r => r.Name == "local header of archive/data/0").Start;

    private static int FindCentral(byte[] zip, string name)
    {
        var needle = Encoding.UTF8.GetBytes(name);
        for (int i = zip.Length - 46; i >= 0; i--)
            if (BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(i)) == 0x02014b50 && zip.AsSpan(i + 46).StartsWith(needle)) return i;
        throw new InvalidOperationException(name);
    }

    [Theory]
    [InlineData("A_D_init.pth")]
    [InlineData("A_G_init_legacy.pth")]
    public void CheckpointCutAtEvery64thOfItsLengthGivesTheSentence(string fixture)
    {
        string path = "/data/runs/" + fixture;
        var original = File.ReadAllBytes(Fixtures.SpadeTiny(fixture));
        for (int k = 1; k < 64; k++)
        {
            var e = Refused(original[..(int)((long)original.Length * k / 64)], path);
            Assert.Contains(Sentence, e.Message, StringComparison.Ordinal);
            Assert.EndsWith("copy it again, or save it again with torch.save.", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void TruncatedFileOnDiskGivesTheSentenceThroughThePathApi()
    {
        using var dir = Fixtures.TempDir();
        string path = dir.File("latest_net_G.pth");
        File.WriteAllBytes(path, File.ReadAllBytes(Fixtures.SpadeTiny("A_D_init.pth"))[..5000]);
        var e = Assert.Throws<GanSharpException>(() => PthReader.ReadStateDict(path));
        Assert.Equal(ErrorKind.Checkpoint, e.Kind);
        Assert.StartsWith(path + " " + Sentence, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EvaluateWithTruncatedInceptionWeightsExitsWithTheCheckpointCode()
    {
        using var dir = Fixtures.TempDir();
        string real = Path.Combine(dir.Root, "real"), fake = Path.Combine(dir.Root, "fake");
        Directory.CreateDirectory(real);
        Directory.CreateDirectory(fake);
        File.Copy(Evaluation.EvalFixtures.PathOf("camera.png"), Path.Combine(real, "camera.png"));
        File.Copy(Evaluation.EvalFixtures.PathOf("camera_noise.png"), Path.Combine(fake, "camera.png"));
        string weights = dir.File("pt_inception.pth");
        var whole = File.ReadAllBytes(Fixtures.SpadeTiny("A_D_init.pth"));
        File.WriteAllBytes(weights, whole[..(whole.Length / 2)]);
        int rc = GanSharp.Tests.Reliability.Cli.Run(["evaluate", "--fake", fake, "--real", real, "--metrics", "fid",
            "--inception-weights", weights, "--no-stats-cache"]).Code;
        Assert.Equal(GanSharp.Cli.ExitCodes.Checkpoint, rc);
    }

    [Fact]
    public void SafeTensorsCutAtEvery64thGivesTheSentence()
    {
        using var dir = Fixtures.TempDir();
        using var sd = PthReader.ReadStateDict(Fixtures.SpadeTiny("A_D_init.pth"));
        string path = dir.File("d.safetensors");
        SafeTensors.Write(path, sd);
        var original = File.ReadAllBytes(path);
        for (int k = 1; k < 64; k++)
        {
            var e = Assert.Throws<GanSharpException>(() => SafeTensors.Read(original[..(int)((long)original.Length * k / 64)], path).Dispose());
            Assert.Equal(ErrorKind.Checkpoint, e.Kind);
            Assert.StartsWith(path + " " + Sentence, e.Message, StringComparison.Ordinal);
        }
    }
}
