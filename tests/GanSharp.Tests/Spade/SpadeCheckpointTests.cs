using GanSharp.Interop;
using GanSharp.Losses;
using GanSharp.Models.Spade;
using GanSharp.Runs;
using TorchSharp;
using static TorchSharp.torch;

namespace GanSharp.Tests.Spade;

public class SpadeCheckpointTests
{
    private static readonly SpadeModelOptions A = SpadeFixtureSet.Tiny.Options('A').Model;

    [Fact]
    public void LegacyReferenceCheckpointLoadsIntoOurGeneratorAndOurFileHasTheReferenceKeyList()
    {
        using var model = new SpadeModel(A, new SpadeLossOptions { NoVggLoss = true });
        using var legacy = PthReader.ReadStateDict(Fixtures.SpadeTiny("A_G_init_legacy.pth"));
        ModuleState.Load(model.NetG, legacy, "A_G_init_legacy.pth", "netG");
        using var dir = Fixtures.TempDir();
        using var ours = StateDict.From(model.NetG);
        PthWriter.WriteStateDict(dir.File("g.pth"), ours);
        using var back = PthReader.ReadStateDict(dir.File("g.pth"));
        Assert.Equal(legacy.Keys, back.Keys);
        foreach (var k in legacy.Keys) Assert.Equal(PthWriter.TensorBytes(legacy[k]), PthWriter.TensorBytes(back[k]));
    }

    [Fact]
    public void BatchNormsSavedWithoutTheirCounterLoadAsPyTorchLoadsThem()
    {
        // Before PyTorch 0.4.1 batch norms had no num_batches_tracked: such a file loads with the counter at 0.
        using var model = new SpadeModel(A, new SpadeLossOptions { NoVggLoss = true });
        using var full = PthReader.ReadStateDict(Fixtures.SpadeTiny("A_G_after.pth"));
        using var old = new StateDict();
        foreach (var (k, v) in full.Entries)
            if (!k.EndsWith("num_batches_tracked", StringComparison.Ordinal)) old.Add(k, v.alias());
        Assert.True(old.Count < full.Count);
        foreach (var (k, v) in model.NetG.state_dict()) if (k.EndsWith("num_batches_tracked", StringComparison.Ordinal)) v.fill_(7);
        ModuleState.Load(model.NetG, old, "old.pth", "netG");
        foreach (var (k, v) in model.NetG.state_dict())
        {
            if (k.EndsWith("num_batches_tracked", StringComparison.Ordinal)) Assert.Equal(0L, v.item<long>());
            else Assert.True(v.eq(full[k]).all().item<bool>(), k);
        }

        // The statistics themselves cannot be missing.
        using var noStats = new StateDict();
        foreach (var (k, v) in old.Entries)
            if (!k.EndsWith("running_mean", StringComparison.Ordinal)) noStats.Add(k, v.alias());
        var e = Assert.Throws<GanSharpException>(() => ModuleState.Load(model.NetG, noStats, "stats.pth", "netG"));
        Assert.Contains("missing from the file", e.Message);
    }

    [Fact]
    public void ACheckpointWithOtherOptionsIsRefusedByName()
    {
        using var model = new SpadeModel(A with { LabelNc = A.LabelNc + 1 }, new SpadeLossOptions { NoVggLoss = true });
        using var sd = PthReader.ReadStateDict(Fixtures.SpadeTiny("A_G_init.pth"));
        var e = Assert.Throws<GanSharpException>(() => ModuleState.Load(model.NetG, sd, "A_G_init.pth", "netG"));
        Assert.Contains("shape mismatch", e.Message);
        long width = 16 * A.Ngf;
        Assert.Contains($"fc.weight is [{width},{A.SemanticNc},3,3] in the file but [{width},{A.SemanticNc + 1},3,3] in netG", e.Message);
    }

    [Fact]
    public void VggWeightsLoadFromATorchvisionStyleFile()
    {
        using var dir = Fixtures.TempDir();
        // A torchvision-style file: features.* plus classifier.* keys; only the features are used.
        torch.manual_seed(3);
        using var source = new Vgg19();
        using var sd = StateDict.From(source);
        sd.Add("classifier.0.weight", randn(4, 4));
        PthWriter.WriteStateDict(dir.File("vgg19.pth"), sd);
        var options = new SpadeRunOptions
        {
            Data = GanSharp.Data.DataOptions.Create("L", "I", isTrain: true),
            Model = new SpadeModelOptions { LabelNc = 13 },
            VggWeights = dir.File("vgg19.pth"),
        };
        using var vgg = SpadeRunner.LoadVgg(options)!;
        var a = source.state_dict()["features.28.weight"];
        var b = vgg.state_dict()["features.28.weight"];
        Assert.True(a.eq(b).all().item<bool>());
        Assert.False(vgg.training);
    }
}
