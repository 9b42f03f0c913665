using System.Text;
using GanSharp.Interop;
using static TorchSharp.torch;

namespace GanSharp.Tests.Interop;

public class PthTests
{
    private static bool IsBuffer(string key) =>
        key.EndsWith(".weight_u", StringComparison.Ordinal) || key.EndsWith(".weight_v", StringComparison.Ordinal)
        || key.EndsWith("running_mean", StringComparison.Ordinal) || key.EndsWith("running_var", StringComparison.Ordinal)
        || key.EndsWith("num_batches_tracked", StringComparison.Ordinal);

    [Fact]
    public void ZipAndLegacyReferenceFilesReadToTheSameTensors()
    {
        using var zip = PthReader.ReadStateDict(Fixtures.SpadeTiny("A_G_init.pth"));
        using var legacy = PthReader.ReadStateDict(Fixtures.SpadeTiny("A_G_init_legacy.pth"));
        Assert.Equal(zip.Keys, legacy.Keys);
        foreach (var k in zip.Keys)
        {
            Assert.Equal(zip[k].dtype, legacy[k].dtype);
            Assert.True(zip[k].eq(legacy[k]).all().item<bool>(), k);
        }
        // The fixture README gives netG's parameter count for config A.
        long parameters = zip.Entries.Where(kv => !IsBuffer(kv.Key)).Sum(kv => kv.Value.numel());
        Assert.Equal(559_251, parameters);
        Assert.Equal("fc.weight", zip.Keys[0]);
        Assert.Equal(ScalarType.Int64, zip.Entries.First(kv => kv.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal)).Value.dtype);
        // Spectral-norm u vectors are stored normalised.
        var u = zip["head_0.conv_0.weight_u"];
        Assert.Equal(1.0, u.norm().item<float>(), 5);
    }

    [Theory]
    [InlineData(PthFormat.Zip)]
    [InlineData(PthFormat.Legacy)]
    public void WrittenStateDictReadsBackBitForBit(PthFormat format)
    {
        using var dir = Fixtures.TempDir();
        using var original = PthReader.ReadStateDict(Fixtures.SpadeTiny("A_D_init.pth"));
        string path = dir.File("d.pth");
        PthWriter.WriteStateDict(path, original, format);
        using var back = PthReader.ReadStateDict(path);
        Assert.Equal(original.Keys, back.Keys);
        foreach (var k in original.Keys)
        {
            Assert.Equal(original[k].shape, back[k].shape);
            Assert.Equal(PthWriter.TensorBytes(original[k]), PthWriter.TensorBytes(back[k]));
        }
    }

    [Fact]
    public void NonContiguousAndMixedDtypesRoundTrip()
    {
        using var dir = Fixtures.TempDir();
        using var sd = new StateDict();
        sd.Add("t", arange(12, dtype: ScalarType.Float32).reshape(3, 4).t());
        sd.Add("i", tensor(new long[] { -5, 1L << 40 }));
        sd.Add("b", tensor(new[] { true, false }));
        sd.Add("h", ones(2, dtype: ScalarType.Float16));
        string path = dir.File("m.pth");
        PthWriter.WriteStateDict(path, sd);
        using var back = PthReader.ReadStateDict(path);
        Assert.Equal(new long[] { 4, 3 }, back["t"].shape);
        Assert.Equal(7f, back["t"][3, 1].item<float>());
        Assert.Equal(1L << 40, back["i"][1].item<long>());
        Assert.False(back["b"][1].item<bool>());
        Assert.Equal(ScalarType.Float16, back["h"].dtype);
    }

    [Fact]
    public void OptimizerStateReadsWithStepsAndBetas()
    {
        var optim = GanSharp.Tests.Spade.SpadeFixtureSet.Tiny.Options('A').Optim;
        var (beta1, beta2) = optim.Betas;
        var root = (Dictionary<object, object?>)PthReader.Read(Fixtures.SpadeTiny("A_optG_after.pth"))!;
        var groups = (List<object?>)root["param_groups"]!;
        var g0 = (Dictionary<object, object?>)groups[0]!;
        Assert.Equal(optim.LearningRatesAt(1).G, (double)g0["lr"]!, 12);
        var betas = (PickleTuple)g0["betas"]!;
        Assert.Equal(beta1, (double)betas[0]!);
        Assert.Equal(beta2, (double)betas[1]!);
        var state = (Dictionary<object, object?>)root["state"]!;
        var s0 = (Dictionary<object, object?>)state[0L]!;
        Assert.Equal(1f, ((Tensor)s0["step"]!).item<float>());
        // After one step exp_avg = (1 - beta1) grad and exp_avg_sq = (1 - beta2) grad^2.
        var m = (Tensor)s0["exp_avg"]!;
        var v = (Tensor)s0["exp_avg_sq"]!;
        Assert.True(v.allclose(m * m * ((1 - beta2) / ((1 - beta1) * (1 - beta1))), rtol: 1e-4, atol: 1e-12));
        Assert.True(m.abs().max().item<float>() > 0);
    }

    [Fact]
    public void ExpectedFileWithTorchVersionReadsAsString()
    {
        var root = (Dictionary<object, object?>)PthReader.Read(Fixtures.SpadeTiny("A_expected.pth"))!;
        Assert.StartsWith("1.13", (string)root["torch_version"]!);
        Assert.Equal(0L, root["seed"]);
        Assert.IsType<double>(root["loss_G_GAN"]);
    }

    [Fact]
    public void PickleNamingAnyOtherGlobalIsRefused()
    {
        using var dir = Fixtures.TempDir();
        string path = dir.File("evil.pth");
        // pickle of os.system("ls"): what a malicious checkpoint would carry.
        byte[] pkl = [0x80, 0x02, .. Encoding.ASCII.GetBytes("cos\nsystem\n"), 0x58, 2, 0, 0, 0, (byte)'l', (byte)'s', 0x85, 0x52, 0x2e];
        using (var fs = File.Create(path))
        {
            var zip = new StoredZipWriter(fs);
            zip.Add("archive/data.pkl", pkl);
            zip.Add("archive/version", Encoding.ASCII.GetBytes("3\n"));
            zip.Finish();
        }
        var e = Assert.Throws<GanSharpException>(() => PthReader.Read(path));
        Assert.Equal(ErrorKind.Checkpoint, e.Kind);
        Assert.Contains("os.system", e.Message);
        Assert.Contains("evil.pth", e.Message);
    }

    [Fact]
    public void AZip64CheckpointReadsBackBitForBit()
    {
        // ZIP64 records from the first byte on: the layout a checkpoint beyond 4 GiB gets, without writing 4 GiB.
        using var dir = Fixtures.TempDir();
        using var sd = PthReader.ReadStateDict(Fixtures.SpadeTiny("A_D_init.pth"));
        string path = dir.File("d64.pth");
        PthWriter.Write(path, sd, PthFormat.Zip, zip64From: 0);
        var bytes = File.ReadAllBytes(path);
        // The ZIP64 end-of-directory record and its locator are there, and the classic end record points to them.
        Assert.True(bytes.AsSpan().IndexOf("PK\x06\x06"u8) > 0);
        Assert.True(bytes.AsSpan().IndexOf("PK\x06\x07"u8) > 0);
        Assert.Equal(0xFFFFFFFFu, System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(bytes.Length - 6)));
        using (var zip = new System.IO.Compression.ZipArchive(File.OpenRead(path)))
            Assert.Equal(sd.Count + 3, zip.Entries.Count);
        using var back = PthReader.ReadStateDict(path);
        Assert.Equal(sd.Keys, back.Keys);
        foreach (var k in sd.Keys) Assert.Equal(PthWriter.TensorBytes(sd[k]), PthWriter.TensorBytes(back[k]));
    }

    [Fact]
    public void SafeTensorsRoundTrip()
    {
        using var dir = Fixtures.TempDir();
        using var sd = PthReader.ReadStateDict(Fixtures.SpadeTiny("A_D_init.pth"));
        string path = dir.File("d.safetensors");
        SafeTensors.Write(path, sd, new Dictionary<string, string> { ["format"] = "pt" });
        using var back = SafeTensors.Read(path);
        Assert.Equal(sd.Keys, back.Keys);
        foreach (var k in sd.Keys) Assert.True(sd[k].eq(back[k]).all().item<bool>(), k);
    }

    [Fact]
    public void LoadingIntoAModuleReportsMismatchesByName()
    {
        using var lin = nn.Linear(3, 2);
        using var sd = new StateDict();
        sd.Add("weight", ones(2, 4));
        sd.Add("extra", ones(1));
        var e = Assert.Throws<GanSharpException>(() => ModuleState.Load(lin, sd, "x.pth", "netG"));
        Assert.Contains("weight is [2,4] in the file but [2,3] in netG", e.Message);
        Assert.Contains("bias", e.Message);
        Assert.Contains("extra", e.Message);

        using var good = new StateDict();
        good.Add("weight", full(2, 3, 0.5f));
        good.Add("bias", tensor(new[] { 1f, 2f }));
        ModuleState.Load(lin, good, "x.pth", "netG");
        Assert.Equal(0.5f, lin.weight![1, 2].item<float>());
        Assert.Equal(2f, lin.bias![1].item<float>());
    }
}
