using System.Buffers.Binary;
using System.Text.Json;
using GanSharp.Cli;
using GanSharp.Data;
using GanSharp.Interop;
using GanSharp.Models.Spade;
using GanSharp.Runs;
using GanSharp.Tests.Spade;
using GanSharp.Training;

namespace GanSharp.Tests.Interop;

/// <summary><c>gansharp export</c> and reading its safetensors where a .pth is accepted.</summary>
public class ExportTests
{
    // As Program.Main runs a command line (without its restart), under the console lock other tests' commands take.
    private static int Cli(params string[] args) => GanSharp.Tests.Reliability.Cli.Run(args).Code;

    // A run folder with a latest G and D (config A's networks) and an older G that a latest export must leave out.
    private static string RunFolder(TempDir dir)
    {
        string run = Directory.CreateDirectory(dir.File("ck/r")).FullName;
        File.Copy(Fixtures.SpadeTiny("A_G_init.pth"), Path.Combine(run, "latest_net_G.pth"));
        File.Copy(Fixtures.SpadeTiny("A_D_init.pth"), Path.Combine(run, "latest_net_D.pth"));
        File.Copy(Fixtures.SpadeTiny("A_G_after.pth"), Path.Combine(run, "5_net_G.pth"));
        return run;
    }

    /// <summary>Each tensor's raw bytes, read from the safetensors layout directly rather than through our reader.</summary>
    private static Dictionary<string, byte[]> RawSafeTensors(string path)
    {
        var all = File.ReadAllBytes(path);
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(all);
        using var header = JsonDocument.Parse(all.AsMemory(8, (int)n));
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var p in header.RootElement.EnumerateObject())
        {
            if (p.Name == "__metadata__") continue;
            var offsets = p.Value.GetProperty("data_offsets");
            long b = offsets[0].GetInt64(), e = offsets[1].GetInt64();
            result[p.Name] = all.AsSpan((int)(8 + n + b), (int)(e - b)).ToArray();
        }
        return result;
    }

    [Fact]
    public void ExportWritesEachNetworkAsSafeTensorsAndBackAsPthBitForBit()
    {
        using var dir = Fixtures.TempDir();
        string run = RunFolder(dir);
        string outDir = dir.File("ck/exported");
        Assert.Equal(ExitCodes.Ok, Cli("export", "--name", "r", "--checkpoints-dir", dir.File("ck"), "--out", outDir));
        Assert.Equal(["latest_net_D.safetensors", "latest_net_G.safetensors"],
            Directory.GetFiles(outDir).Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal).ToArray());
        // No temporary file is left next to them.
        Assert.Equal(2, Directory.GetFiles(outDir).Length);

        foreach (var net in new[] { "G", "D" })
        {
            using var original = PthReader.ReadStateDict(Path.Combine(run, $"latest_net_{net}.pth"));
            var raw = RawSafeTensors(Path.Combine(outDir, $"latest_net_{net}.safetensors"));
            Assert.Equal(original.Keys.Order(StringComparer.Ordinal), raw.Keys.Order(StringComparer.Ordinal));
            foreach (var (k, t) in original.Entries) Assert.Equal(PthWriter.TensorBytes(t), raw[k]);
        }

        // The exported folder is itself a run folder: exported back to .pth, it gives the same tensors, names and dtypes.
        string back = dir.File("back");
        Assert.Equal(ExitCodes.Ok, Cli("export", "--name", "exported", "--checkpoints-dir", dir.File("ck"), "--format", "pth", "--out", back));
        using var g0 = PthReader.ReadStateDict(Path.Combine(run, "latest_net_G.pth"));
        using var g1 = PthReader.ReadStateDict(Path.Combine(back, "latest_net_G.pth"));
        Assert.Equal(g0.Keys, g1.Keys);
        foreach (var (k, t) in g0.Entries)
        {
            Assert.Equal(t.dtype, g1[k].dtype);
            Assert.Equal(PthWriter.TensorBytes(t), PthWriter.TensorBytes(g1[k]));
        }

        // --which-epoch picks the other checkpoint.
        Assert.Equal(ExitCodes.Ok, Cli("export", "--name", "r", "--checkpoints-dir", dir.File("ck"), "--which-epoch", "5", "--out", dir.File("e5")));
        using var after = PthReader.ReadStateDict(Path.Combine(run, "5_net_G.pth"));
        using var after1 = WeightsFile.ReadStateDict(dir.File("e5/5_net_G.safetensors"));
        Assert.Equal(PthWriter.TensorBytes(after["fc.weight"]), PthWriter.TensorBytes(after1["fc.weight"]));
        Assert.Single(Directory.GetFiles(dir.File("e5")));
    }

    [Theory]
    [InlineData(ExitCodes.Usage, "--name", "../ck/r")]
    [InlineData(ExitCodes.Usage, "--name", "..")]
    [InlineData(ExitCodes.Usage, "--name", "/etc")]
    [InlineData(ExitCodes.Usage, "--which-epoch", "../../latest")]
    [InlineData(ExitCodes.Usage, "--format", "onnx")]
    [InlineData(ExitCodes.Checkpoint, "--name", "no-such-run")]
    [InlineData(ExitCodes.Checkpoint, "--which-epoch", "7")]
    public void ExportRefusesABadArgumentWithTheDocumentedExitCode(int code, string option, string value)
    {
        using var dir = Fixtures.TempDir();
        RunFolder(dir);
        var args = new List<string> { "export", "--name", "r", "--checkpoints-dir", dir.File("ck"), "--out", dir.File("out") };
        int at = args.IndexOf(option);
        if (at >= 0) args[at + 1] = value;
        else args.AddRange([option, value]);
        Assert.Equal(code, Cli([.. args]));
        Assert.False(Directory.Exists(dir.File("out")) && Directory.EnumerateFileSystemEntries(dir.File("out")).Any());
    }

    [Fact]
    public void ANameWithDotsOrSeparatorsIsRefusedBeforeAnyFileIsTouched()
    {
        var e = Assert.Throws<GanSharpException>(() => WeightsExport.Export("/tmp", "a/b", "latest", ExportFormat.SafeTensors, "/tmp/never"));
        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.StartsWith("--name 'a/b' must be a plain folder name such as city_256, not a path", e.Message);
        Assert.False(Directory.Exists("/tmp/never"));
    }

    [Fact]
    public void TestSynthesizesTheSameImagesFromAnExportedSafeTensorsGenerator()
    {
        using var dir = Fixtures.TempDir();
        string run = Directory.CreateDirectory(dir.File("ck/fixA")).FullName;
        File.Copy(Fixtures.SpadeTiny("A_G_after.pth"), Path.Combine(run, "latest_net_G.pth"));
        SpadeRunTests.WriteConfigABatch(dir);
        Assert.Equal(ExitCodes.Ok, Cli("export", "--name", "fixA", "--checkpoints-dir", dir.File("ck"), "--out", dir.File("ck/fixA_st")));
        var cli = new SpadeRunOptions
        {
            Data = DataOptions.Create(dir.File("label"), dir.File("img"), isTrain: false, dir.File("inst")) with
            {
                LoadSize = 64,
                CropSize = 64,
                LabelNc = 5,
                ContainDontcareLabel = true
            },
            Model = SpadeParityTests.ConfigA,
            Run = new RunOptions { Name = "fixA", CheckpointsDir = dir.File("ck") },
        };
        var fromPth = SpadeRunner.Test(cli, new HashSet<string>(), dir.File("res"), false, CancellationToken.None, _ => { });
        // The exported folder holds only latest_net_G.safetensors.
        var fromSt = SpadeRunner.Test(cli with { Run = cli.Run with { Name = "fixA_st" } }, new HashSet<string>(), dir.File("res"), false,
            CancellationToken.None, _ => { });
        Assert.Equal(2, fromSt.Images);
        for (int i = 0; i < 2; i++)
        {
            string Png(SpadeTestOutcome o) => Path.Combine(o.PageDir, "images", "synthesized_image", $"{i}.png");
            Assert.Equal(File.ReadAllBytes(Png(fromPth)), File.ReadAllBytes(Png(fromSt)));
        }
    }
}
