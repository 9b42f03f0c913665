using System.CommandLine;
using GanSharp.Cli;
using GanSharp.Cli.Options;
using GanSharp.Losses;
using GanSharp.Training;
using GanSharp.Training.Tricks;

namespace GanSharp.Tests.Families;

/// <summary>Parse-only tests of <c>gansharp train-family</c>: nothing is trained.</summary>
public class TrainFamilyCommandTests
{
    private static Command Verb() => Program.BuildRoot().Subcommands.Single(c => c.Name == "train-family");

    [Fact]
    public void EveryFamilyAndTrickFlagIsOnTheVerbWithADescription()
    {
        var names = Verb().Options.Select(o => o.Name).ToHashSet();
        string[] expected =
        [
            "--family", "--data", "--batch-size", "--loss", "--saturating", "--norm", "--weight-clip", "--began-gamma", "--began-lambda-k",
            "--progan-phase-images", "--continue-train", "--soft-labels", "--real-target", "--flip-labels", "--instance-noise",
            "--instance-noise-decay", "--replay-size", "--replay-prob", "--d-steps", "--g-steps", "--lr-g", "--lr-d", "--g-dropout",
            "--sphere-latent", "--joint-batch", "--minibatch-std", "--spectral-norm-g", "--spectral-norm-d", "--penalty",
            "--penalty-weight", "--r1-interval", "--diff-augment", "--ada-target", "--ada-p-max", "--ema", "--threads",
        ];
        Assert.All(expected, n => Assert.Contains(n, names));
        Assert.All(Verb().Options, o => Assert.False(string.IsNullOrWhiteSpace(o.Description), o.Name));
    }

    [Fact]
    public void BindersTurnFlagsIntoRecords()
    {
        var family = new FamilyOptionsBinder();
        var tricks = new TricksOptionsBinder();
        var cmd = new Command("x");
        family.AddTo(cmd);
        tricks.AddTo(cmd);
        var parse = cmd.Parse("--family wgan --data shapes32 --loss hinge --n-critic 3 --g-steps 2 --soft-labels uniform --flip-labels 0.05 "
            + "--instance-noise 0.1 --instance-noise-decay exponential --replay-size 64 --penalty r1 --r1-interval 16 --diff-augment color,cutout "
            + "--ada-target 0.6 --ema 0.999 --sphere-latent --joint-batch --spectral-norm-d --lr-g 0.0001 --continue-train --name run1 --threads 1");
        Assert.Empty(parse.Errors);
        var f = family.Bind(parse);
        var t = tricks.Bind(parse);
        var run = family.BindRun(parse);
        Assert.Equal(GanFamily.Wgan, f.Family);
        Assert.Equal(FamilyData.Shapes32, f.Data);
        Assert.Equal(1, f.Threads);
        Assert.Equal(AdversarialLoss.Hinge, f.Loss);
        Assert.Equal(3, t.DSteps);
        Assert.Equal(2, t.GSteps);
        Assert.Equal(LabelSmoothing.Uniform, t.Smoothing);
        Assert.Equal(0.05, t.FlipFraction);
        Assert.Equal(NoiseDecay.Exponential, t.InstanceNoiseDecay);
        Assert.Equal(64, t.ReplaySize);
        Assert.Equal(PenaltyKind.R1, t.Penalty);
        Assert.Equal(16, t.R1Interval);
        Assert.Equal("color,cutout", t.DiffAugment);
        Assert.Equal(0.6, t.AdaTarget);
        Assert.Equal(0.999, t.EmaBeta);
        Assert.True(t.SphereLatent && t.JointBatch && t.SpectralNormD && !t.SpectralNormG);
        Assert.Equal(0.0001, t.LrG);
        Assert.Null(t.LrD);
        Assert.True(run.ContinueTrain);
        Assert.Equal("run1", run.Name);
        t.Validate();
        f.Validate();
    }

    [Fact]
    public void DefaultsLeaveEveryTrickOff()
    {
        var tricks = new TricksOptionsBinder();
        var cmd = new Command("x");
        tricks.AddTo(cmd);
        Assert.Equal(new TricksOptions(), tricks.Bind(cmd.Parse("")));
    }

    [Fact]
    public void UnknownFamilyIsAParseError()
    {
        var parse = Program.BuildRoot().Parse("train-family --family stylegan9");
        Assert.NotEmpty(parse.Errors);
    }
}
