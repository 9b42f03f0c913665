using System.CommandLine;
using GanSharp.Cli;
using GanSharp.Cli.Options;
using GanSharp.Diagnostics;
using GanSharp.Models.Spade;

namespace GanSharp.Tests.Diagnostics;

/// <summary>
/// Every prescription must be something the user can type: its flags parse on the verb of the run's kind (SPADE's
/// <c>train</c>, the families' <c>train-family</c>) and SPADE accepts the tricks it names.
/// </summary>
public class RemedyFlagsTests
{
    private static readonly string[] AllDetectors =
    [
        DetectorIds.DOverpowersG, DetectorIds.GWins, DetectorIds.ExplodingGradients, DetectorIds.GFallsDRises, DetectorIds.NonFinite,
        DetectorIds.ModeCollapse, DetectorIds.PerceptualOverfit, DetectorIds.DMemorising, DetectorIds.BeganMStalled,
        DetectorIds.WganCritic, DetectorIds.MetricJump,
    ];

    // Advice whose value is a description ("(half the family's default)", "the last epoch before the episode") gets a
    // literal of the right type in its place.
    private static string Typed(Remedy r)
    {
        var flags = r.Flag.Split(", ");
        string value = r.Value.StartsWith('(') || r.Value.StartsWith("the ", StringComparison.Ordinal)
            ? (r.Flag.Contains("epoch") ? "5" : "0.0001") : r.Value;
        return string.Join(' ', flags.Select(f => value.Length == 0 ? f : $"{f} {value}"));
    }

    [Fact]
    public void EveryFlagOfEveryPrescriptionParsesOnItsVerb()
    {
        var root = Program.BuildRoot();
        int checkedFlags = 0;
        foreach (var kind in new[] { RunKind.Spade, RunKind.Family })
        {
            var verb = root.Subcommands.Single(c => c.Name == (kind == RunKind.Spade ? "train" : "train-family"));
            foreach (var id in AllDetectors)
                foreach (var r in Remedies.For(id, kind).Where(r => r.Flag.StartsWith("--", StringComparison.Ordinal)))
                {
                    string line = Typed(r);
                    var parse = verb.Parse(line);
                    Assert.True(parse.Errors.Count == 0, $"{kind} {id}: `{line}`: {string.Join("; ", parse.Errors.Select(e => e.Message))}");
                    if (kind == RunKind.Spade)
                    {
                        // The tricks among them must also be ones SPADE accepts (CheckTricks throws for the others).
                        var tricks = new TricksOptionsBinder();
                        var tricksOnly = new Command("tricks");
                        tricks.AddTo(tricksOnly);
                        var p = tricksOnly.Parse(line);
                        if (p.Errors.Count == 0) SpadeRecipe.CheckTricks(tricks.Bind(p));
                    }
                    checkedFlags++;
                }
        }
        Assert.True(checkedFlags > 40, $"only {checkedFlags} prescriptions checked");
    }

    [Fact]
    public void SpadeAndFamilyRunsGetTheirOwnFlagsForTheSameAdvice()
    {
        var spade = Remedies.For(DetectorIds.DOverpowersG, RunKind.Spade).Select(r => r.CommandLine).ToList();
        var family = Remedies.For(DetectorIds.DOverpowersG, RunKind.Family).Select(r => r.CommandLine).ToList();
        Assert.Equal(["--ngf 128", "--lr-scale-g 0.5", "--g-steps 2", "--soft-labels fixed --real-target 0.9", "--norm-D spectralinstance",
            "--instance-noise 0.1", "--ndf 128"], spade.Take(7));
        Assert.Equal(["--layers 4", "--lr-g (half the family's default)", "--g-steps 2", "--soft-labels fixed --real-target 0.9", "--spectral-norm-d",
            "--instance-noise 0.1", "--d-steps 2"], family.Take(7));
        Assert.DoesNotContain(Remedies.For(DetectorIds.PerceptualOverfit, RunKind.Family), r => r.Flag == "--lambda-vgg");
        Assert.DoesNotContain(Remedies.For(DetectorIds.BeganMStalled, RunKind.Spade), r => r.Flag == "--began-gamma");
    }

    [Fact]
    public void TheDoctorTellsAFamilyRunFromItsOptions()
    {
        using var dir = Fixtures.TempDir();
        string family = dir.File("fam"), spade = dir.File("spade"), none = dir.File("none");
        Directory.CreateDirectory(family);
        Directory.CreateDirectory(spade);
        Directory.CreateDirectory(none);
        File.WriteAllText(Path.Combine(family, "options.json"), "{\"family\":{\"family\":\"wgan_gp\"},\"tricks\":{}}");
        File.WriteAllText(Path.Combine(spade, "options.json"), "{\"model\":{\"ngf\":64},\"data\":{\"label_dir\":\"x\"}}");
        Assert.Equal(RunKind.Family, RunFolderOptions.Read(family).Kind);
        Assert.Equal(RunKind.Spade, RunFolderOptions.Read(spade).Kind);
        Assert.Equal(RunKind.Spade, RunFolderOptions.Read(none).Kind);
    }
}
