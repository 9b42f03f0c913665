using System.CommandLine;
using GanSharp.Cli;
using GanSharp.Cli.Options;
using GanSharp.Models.Spade;

namespace GanSharp.Tests.Cli;

public class TrainParseTests
{
    [Fact]
    public void ReferenceNamesBindToTheOptionRecords()
    {
        var cmd = new Command("train");
        var spade = new SpadeOptionsBinder(training: true);
        spade.AddTo(cmd);
        var parse = cmd.Parse("--label_dir L --image_dir I --label_nc 5 --batchSize 2 --no_instance --ngf 8 --num_D 3 --gan_mode ls --no_TTUR " +
            "--niter_decay 7 --lambda-vgg 2.5 --num_upsampling_layers more");
        Assert.Empty(parse.Errors);
        var (o, given) = spade.Bind(parse);
        Assert.Equal(5, o.Model.LabelNc);
        Assert.Equal(2, o.Data.BatchSize);
        Assert.True(o.Model.NoInstance);
        Assert.Equal(8, o.Model.Ngf);
        Assert.Equal(64, o.Model.Ndf);
        Assert.Equal(3, o.Model.NumD);
        Assert.Equal(GanSharp.Losses.AdversarialLoss.Ls, o.Loss.GanMode);
        Assert.True(o.Optim.NoTtur);
        Assert.Equal(7, o.Optim.NiterDecay);
        Assert.Equal(2.5, o.Loss.LambdaVgg);
        Assert.Equal(NumUpsamplingLayers.More, o.Model.NumUpsamplingLayers);
        Assert.Contains("model.ngf", given);
        Assert.Contains("data.label_nc", given);
        Assert.DoesNotContain("model.ndf", given);
    }

    [Fact]
    public void TrickFlagsBindIntoSpadeOptionsAndReplaceTheSavedTricksOnResume()
    {
        var cmd = new Command("train");
        var spade = new SpadeOptionsBinder(training: true);
        spade.AddTo(cmd);
        var tricks = new TricksOptionsBinder();
        tricks.AddTo(cmd);
        var parse = cmd.Parse("--label_dir L --image_dir I --ema 0.999 --diff-augment color,cutout --penalty r1 --r1-interval 4 " +
            "--d-steps 2 --lr 0.001");
        Assert.Empty(parse.Errors);
        var (o, given) = spade.Bind(parse);
        o = tricks.BindInto(parse, o, given);
        Assert.Equal(0.999, o.Tricks.EmaBeta);
        Assert.Equal("color,cutout", o.Tricks.DiffAugment);
        Assert.Equal(GanSharp.Training.Tricks.PenaltyKind.R1, o.Tricks.Penalty);
        Assert.Equal(4, o.Tricks.R1Interval);
        Assert.Equal(2, o.Tricks.DSteps);
        Assert.Equal(0.001, o.Optim.Lr);
        Assert.Contains("tricks.ema_beta", given);
        Assert.Contains("tricks.flip_fraction", given);

        // Resumed with trick flags: the command line's set wins whole; without any: the checkpoint's is kept.
        var saved = o with { Tricks = new GanSharp.Training.Tricks.TricksOptions { EmaBeta = 0.9, FlipFraction = 0.1 } };
        var withFlags = SpadeRunOptions.Merge(o, given, saved, "ck", _ => false);
        Assert.Equal(0.999, withFlags.Tricks.EmaBeta);
        Assert.Equal(0.0, withFlags.Tricks.FlipFraction);
        var plain = cmd.Parse("--label_dir L --image_dir I");
        var (p, pGiven) = spade.Bind(plain);
        p = tricks.BindInto(plain, p, pGiven);
        Assert.DoesNotContain(pGiven, g => g.StartsWith("tricks.", StringComparison.Ordinal));
        var kept = SpadeRunOptions.Merge(p, pGiven, saved, "ck", _ => false);
        Assert.Equal(0.9, kept.Tricks.EmaBeta);
        Assert.Equal(0.1, kept.Tricks.FlipFraction);
    }

    [Fact]
    public void MergeFillsUntypedOptionsFromTheCheckpointAndRefusesContradictions()
    {
        var data = GanSharp.Data.DataOptions.Create("L", "I", isTrain: true);
        var saved = new SpadeRunOptions
        {
            Data = data with { LabelNc = 9 }, Model = new SpadeModelOptions { LabelNc = 9, Ngf = 32 },
            Optim = new() { Niter = 3 }
        };
        var cli = new SpadeRunOptions { Data = data, Model = new SpadeModelOptions { LabelNc = 13 }, Optim = new() { Niter = 8 } };
        var merged = SpadeRunOptions.Merge(cli, new HashSet<string> { "optim.niter" }, saved, "ck", _ => false);
        Assert.Equal(32, merged.Model.Ngf);
        Assert.Equal(9, merged.Data.LabelNc);
        Assert.Equal(8, merged.Optim.Niter);
        var e = Assert.Throws<GanSharpException>(() => SpadeRunOptions.Merge(cli, new HashSet<string> { "data.label_nc" }, saved, "ck", _ => false));
        Assert.Equal("--label-nc is 13 but ck was trained with 9: drop --label-nc (its value comes from the checkpoint) or train a new --name.",
            e.Message);
    }

    [Fact]
    public void DiagnosticOptionsBindAreInHelpAndComeBackFromTheCheckpoint()
    {
        var cmd = new Command("train");
        var spade = new SpadeOptionsBinder(training: true);
        spade.AddTo(cmd);
        var parse = cmd.Parse("--label_dir L --image_dir I --val-label-dir VL --val-image-dir VI --val-instance-dir VN --val-every 200 " +
            "--val-samples 4 --diversity-samples 0");
        Assert.Empty(parse.Errors);
        var (o, given) = spade.Bind(parse);
        Assert.Equal(("VL", "VI", "VN"), (o.ValLabelDir, o.ValImageDir, o.ValInstanceDir));
        Assert.Equal((200, 4, 0), (o.ValEvery, o.ValSamples, o.DiversitySamples));
        Assert.Contains("val_every", given);
        o.ValidateDiagnostics(valEveryGiven: true);
        Assert.Contains("\"val_label_dir\": \"VL\"", o.ToJson());
        Assert.Equal("200", o.Flatten()["val_every"]);

        // Defaults: validation every 500 iterations once a held-out split is given, 16 pairs, 8 diversity maps.
        var plain = cmd.Parse("--label_dir L --image_dir I");
        var (p, pGiven) = spade.Bind(plain);
        Assert.Equal((SpadeRunOptions.DefaultValEvery, 16, 8), (p.ValEvery, p.ValSamples, p.DiversitySamples));
        Assert.Equal(500, SpadeRunOptions.DefaultValEvery);
        Assert.Null(p.ValLabelDir);
        Assert.False(p.Validates);
        p.ValidateDiagnostics(valEveryGiven: false);
        // On resume without the flags the checkpoint's values come back.
        var resumed = SpadeRunOptions.Merge(p, pGiven, o, "ck", _ => false);
        Assert.Equal(("VL", 200, 0), (resumed.ValLabelDir, resumed.ValEvery, resumed.DiversitySamples));

        Assert.Throws<GanSharpException>(() => (p with { ValLabelDir = "VL" }).ValidateDiagnostics(false));
        Assert.Contains("needs a held-out split", Assert.Throws<GanSharpException>(() => p.ValidateDiagnostics(valEveryGiven: true)).Message);
        Assert.Contains("--diversity-samples 1",
            Assert.Throws<GanSharpException>(() => (p with { DiversitySamples = 1 }).ValidateDiagnostics(false)).Message);

        var train = Program.BuildRoot().Subcommands.First(c => c.Name == "train");
        foreach (var flag in new[] { "--val-label-dir", "--val-image-dir", "--val-instance-dir", "--val-every", "--val-samples",
            "--diversity-samples" })
            Assert.Contains(train.Options, x => x.Name == flag);
        var audit = Program.BuildRoot().Subcommands.First(c => c.Name == "doctor");
        Assert.Contains(audit.Options, x => x.Name == "--audit");
        var dataAudit = Program.BuildRoot().Subcommands.First(c => c.Name == "data").Subcommands.First(c => c.Name == "audit");
        Assert.Contains(dataAudit.Options, x => x.Name == "--json");
    }

    [Fact]
    public void EveryVerbHasHelp()
    {
        var root = Program.BuildRoot();
        var names = root.Subcommands.Select(c => c.Name).ToList();
        Assert.Contains("train", names);
        Assert.Contains("test", names);
        Assert.Contains("demo", names);
        Assert.All(root.Subcommands, c => Assert.False(string.IsNullOrWhiteSpace(c.Description)));
        var train = root.Subcommands.First(c => c.Name == "train");
        Assert.All(train.Options.Where(o => o.Name.StartsWith("--", StringComparison.Ordinal)),
            o => Assert.False(string.IsNullOrWhiteSpace(o.Description), o.Name));
    }
}

public class FamilyRoutingTests
{
    [Fact]
    public void TrainWithAFamilyRoutesToTheFamilyTrainer()
    {
        Assert.Equal(["train-family", "--family", "wgan-gp", "--data", "ring8"],
            Program.RouteFamily(["train", "--family", "wgan-gp", "--data", "ring8"]));
        Assert.Equal(["train-family", "--family", "began", "--x"], Program.RouteFamily(["train", "--x", "--family=began"]));
        Assert.Equal(["train", "--name", "a"], Program.RouteFamily(["train", "--family", "spade", "--name", "a"]));
        Assert.Equal(["test", "--family", "x"], Program.RouteFamily(["test", "--family", "x"]));
    }
}
