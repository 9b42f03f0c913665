using System.CommandLine;
using GanSharp.Cli;
using GanSharp.Cli.Commands;
using GanSharp.Cli.Options;
using GanSharp.Models.Spade;

namespace GanSharp.Tests.Cli;

public class TrainParseTests
{
    [Fact]
    public void ReferenceNamesBindToTheOptionRecords()
    {
        var cmd = new Command("train");
        var data = new DataOptionsBinder(requireFolders: false);
        data.AddTo(cmd);
        var spade = new SpadeOptionsBinder(training: true);
        spade.AddTo(cmd);
        var parse = cmd.Parse("--label_dir L --image_dir I --label_nc 5 --batchSize 2 --no_instance --ngf 8 --num_D 3 --gan_mode ls --no_TTUR --niter_decay 7 --lambda-vgg 2.5 --num_upsampling_layers more");
        Assert.Empty(parse.Errors);
        var (o, given) = spade.Bind(parse, data.Bind(parse, isTrain: true), TrainCommand.DataGiven(parse, cmd));
        Assert.Equal(5, o.Model.LabelNc);
        Assert.Equal(2, o.Data.BatchSize);
        Assert.True(o.Model.NoInstance);
        Assert.Equal(8, o.Model.Ngf);
        Assert.Equal(64, o.Model.Ndf);
        Assert.Equal(3, o.Model.NumD);
        Assert.Equal(GanSharp.Losses.GanMode.Ls, o.Loss.GanMode);
        Assert.True(o.Optim.NoTtur);
        Assert.Equal(7, o.Optim.NiterDecay);
        Assert.Equal(2.5, o.Loss.LambdaVgg);
        Assert.Equal(NumUpsamplingLayers.More, o.Model.NumUpsamplingLayers);
        Assert.Contains("model.ngf", given);
        Assert.Contains("data.label_nc", given);
        Assert.DoesNotContain("model.ndf", given);
    }

    [Fact]
    public void MergeFillsUntypedOptionsFromTheCheckpointAndRefusesContradictions()
    {
        var data = GanSharp.Data.DataOptions.Create("L", "I", isTrain: true);
        var saved = new SpadeRunOptions { Data = data with { LabelNc = 9 }, Model = new SpadeModelOptions { LabelNc = 9, Ngf = 32 }, Optim = new() { Niter = 3 } };
        var cli = new SpadeRunOptions { Data = data, Model = new SpadeModelOptions { LabelNc = 13 }, Optim = new() { Niter = 8 } };
        var merged = SpadeRunOptions.Merge(cli, new HashSet<string> { "optim.niter" }, saved, "ck", _ => false);
        Assert.Equal(32, merged.Model.Ngf);
        Assert.Equal(9, merged.Data.LabelNc);
        Assert.Equal(8, merged.Optim.Niter);
        var e = Assert.Throws<GanSharpException>(() => SpadeRunOptions.Merge(cli, new HashSet<string> { "data.label_nc" }, saved, "ck", _ => false));
        Assert.Equal("--label-nc is 13 but ck was trained with 9: drop --label-nc (its value comes from the checkpoint) or train a new --name.", e.Message);
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
        Assert.All(train.Options.Where(o => o.Name.StartsWith("--", StringComparison.Ordinal)), o => Assert.False(string.IsNullOrWhiteSpace(o.Description), o.Name));
    }
}

public class FamilyRoutingTests
{
    [Fact]
    public void TrainWithAFamilyRoutesToTheFamilyTrainer()
    {
        Assert.Equal(["train-family", "--family", "wgan-gp", "--data", "ring8"], Program.RouteFamily(["train", "--family", "wgan-gp", "--data", "ring8"]));
        Assert.Equal(["train-family", "--family", "began", "--x"], Program.RouteFamily(["train", "--x", "--family=began"]));
        Assert.Equal(["train", "--name", "a"], Program.RouteFamily(["train", "--family", "spade", "--name", "a"]));
        Assert.Equal(["test", "--family", "x"], Program.RouteFamily(["test", "--family", "x"]));
    }
}
