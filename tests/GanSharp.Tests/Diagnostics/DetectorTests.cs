using GanSharp.Diagnostics;
using static GanSharp.Tests.Diagnostics.Synthetic;

namespace GanSharp.Tests.Diagnostics;

public class DetectorTests
{
    [Fact]
    public void EveryDetectorStaysQuietOnAHealthyOscillatingRun()
    {
        var run = Build(200, Healthy);
        foreach (var d in Detector.Defaults())
        {
            var v = Evaluate(d, run);
            Assert.True(v.Episodes.Count == 0, $"{d.Id} fired on a healthy run: {string.Join("; ", v.Episodes.Select(e => e.Evidence))}");
            // Everything but the WGAN check has the statistics it needs in this run.
            Assert.Equal(d.Id == DetectorIds.WganCritic ? VerdictStatus.NotApplicable : VerdictStatus.Healthy, v.Status);
        }
    }

    [Fact]
    public void EveryDetectorStaysQuietOnAHealthyWganRun()
    {
        var run = Build(200, HealthyWgan);
        foreach (var d in Detector.Defaults())
            Assert.Empty(Evaluate(d, run).Episodes);
        Assert.Equal(VerdictStatus.Healthy, Evaluate(new WganCriticDetector(), run).Status);
    }

    [Fact]
    public void DOverpoweringGFiresOnSustainedAccuracyAndShadesFromTheWindowStart()
    {
        var run = Build(120, With(50, 80, (_, v) =>
        {
            v["D_acc"] = 0.96;
            v["D_Fake"] = 0.02;
            v["D_real"] = 0.01;
            v["GAN"] = 4.1;
        }));
        var verdict = Evaluate(new DOverpowersGDetector(), run);
        var e = Assert.Single(verdict.Episodes);
        // Window of 5: the first record that fires is 54 (records 50..54 all ≥ 0.85); the shading starts at 50.
        Assert.Equal(50, e.StartIndex);
        Assert.Equal(79, e.EndIndex);
        Assert.Equal(510, e.StartIteration);
        Assert.Equal(800, e.EndIteration);
        Assert.Contains("D loss 0.03, G loss 4.1", e.Evidence);
    }

    [Fact]
    public void DOverpoweringGUsesLossesWhenAccuracyIsNotLogged()
    {
        // A reference loss_log.txt has only the losses: hinge D loss near zero while G's is high.
        var records = Build(30, (i, _) => new Dictionary<string, double>
        {
            ["GAN"] = i < 10 ? 0.8 : 3.0,
            ["D_Fake"] = i < 10 ? 0.9 : 0.02,
            ["D_real"] = i < 10 ? 0.9 : 0.03,
        });
        var e = Assert.Single(Evaluate(new DOverpowersGDetector(), records).Episodes);
        Assert.Equal(10, e.StartIndex);
        Assert.Equal(29, e.EndIndex);
        // A brief dip of the D loss (shorter than the window) does not fire.
        var brief = Build(30, (i, _) => new Dictionary<string, double> { ["GAN"] = 3.0, ["D_Fake"] = i % 4 == 0 ? 0.02 : 0.5, ["D_real"] = 0.03 });
        Assert.Empty(Evaluate(new DOverpowersGDetector(), brief).Episodes);
    }

    [Fact]
    public void GWinningFiresWhenDGuessesAtChanceLoss()
    {
        var run = Build(100, With(40, 70, (_, v) =>
        {
            v["D_acc"] = 0.5;
            v["D_Fake"] = Math.Log(2) + 0.01;
            v["D_real"] = Math.Log(2) - 0.005;
        }));
        var e = Assert.Single(Evaluate(new GWinsDetector(), run).Episodes);
        Assert.Equal(40, e.StartIndex);
        Assert.Equal(69, e.EndIndex);

        // Accuracy at 50 % but a D loss far from chance is not "stuck at chance".
        var notStuck = Build(100, With(40, 70, (_, v) =>
        {
            v["D_acc"] = 0.5;
            v["D_Fake"] = 0.45;
            v["D_real"] = 0.45;
        }));
        Assert.Empty(Evaluate(new GWinsDetector(), notStuck).Episodes);
    }

    [Fact]
    public void ExplodingGradientsFiresAboveOneHundredAndNamesTheNorm()
    {
        var run = Build(60, With(30, 32, (_, v) => v["grad/D"] = 150));
        var e = Assert.Single(Evaluate(new ExplodingGradientsDetector(), run).Episodes);
        Assert.Equal((30, 31), (e.StartIndex, e.EndIndex));
        Assert.Equal("grad/D = 150 (threshold 100)", e.Evidence);
    }

    [Fact]
    public void LargeButSteadyNormsAreNotExplodingAJumpIs()
    {
        // SPADE's G starts near 300 with feature matching and stays there on a healthy run.
        var steady = Build(40, With(0, 40, (_, v) => v["grad/G"] = 300));
        Assert.Empty(Evaluate(new ExplodingGradientsDetector(), steady).Episodes);
        var jump = Build(40, With(0, 40, (i, v) => v["grad/G"] = i == 25 ? 5000 : 300));
        var e = Assert.Single(Evaluate(new ExplodingGradientsDetector(), jump).Episodes);
        Assert.Equal(25, e.StartIndex);
    }

    [Fact]
    public void GFallingWhileDRisingFiresOnSteadyTrendsOnly()
    {
        var run = Build(120, With(40, 80, (i, v) =>
        {
            v["GAN"] = 2.0 - 0.04 * (i - 40);
            v["D_Fake"] = 0.4 + 0.015 * (i - 40);
            v["D_real"] = 0.4 + 0.015 * (i - 40);
        }));
        var verdict = Evaluate(new GFallsDRisesDetector(), run);
        var e = Assert.Single(verdict.Episodes);
        // Windows of 30 records: it fires once most of a window lies in the trend, and stops after it.
        Assert.InRange(e.StartIndex, 20, 45);
        Assert.InRange(e.EndIndex, 79, 95);
        Assert.Contains("G loss went", e.Evidence);
    }

    [Fact]
    public void NonFiniteNamesTheTermThatWentFirst()
    {
        var run = Build(20, (i, r) =>
        {
            var v = Healthy(i, r);
            if (i >= 15)
            {
                v["D_Fake"] = double.NaN;
                v["KLD"] = double.PositiveInfinity;
            }
            return v;
        });
        run[15] = run[15] with { FirstNonFinite = "KLD" };
        var e = Assert.Single(Evaluate(new NonFiniteDetector(), run).Episodes);
        Assert.Equal(15, e.StartIndex);
        Assert.StartsWith("KLD became ∞ first, between iterations 150 and 160", e.Evidence.Replace("Infinity", "∞"));
        // Without the trainer's marker the first non-finite term in report order is named.
        Assert.StartsWith("D_Fake became NaN first", Evaluate(new NonFiniteDetector(),
            run.Select(r => r with { FirstNonFinite = null }).ToList()).Episodes[0].Evidence);
    }

    [Fact]
    public void ModeCollapseFiresBelowHalfTheRealDiversity()
    {
        var run = Build(60, With(20, 40, (_, v) => v["diversity"] = 0.3));
        var e = Assert.Single(Evaluate(new ModeCollapseDetector(), run).Episodes);
        Assert.Equal((20, 39), (e.StartIndex, e.EndIndex));
        // 0.3 against the real data's 2.0 ± 0.02 noise; it had been diverse before.
        Assert.Matches(@"^fake diversity is 1[45]\.\d+ % of the real data's \(threshold 50 % over 3 records, after having been above it\)$",
            e.Evidence);

        // A G that starts collapsed (as at initialisation) counts only after the warm-up of 20 records.
        var early = Build(60, With(0, 30, (_, v) => v["diversity"] = 0.3));
        var e2 = Assert.Single(Evaluate(new ModeCollapseDetector(), early).Episodes);
        Assert.Equal((17, 29), (e2.StartIndex, e2.EndIndex));
    }

    [Fact]
    public void ModeCollapseAcrossZFiresWhenGIgnoresTheLatent()
    {
        // SPADE with the VAE: one map, several z spread 40 % as much as different maps do, until G stops using z.
        var run = Build(80, (i, r) =>
        {
            var v = Healthy(i, r);
            v["diversity_z"] = i is >= 40 and < 60 ? 0.02 : 0.8 + 0.05 * Math.Sin(i / 3.0);
            return v;
        });
        var e = Assert.Single(Evaluate(new ModeCollapseDetector(), run).Episodes);
        Assert.Equal((40, 59), (e.StartIndex, e.EndIndex));
        Assert.Matches(@"^G ignores z: for one label map the fakes spread 1\.\d+ % as much as across maps \(threshold 5 % over 3 records, after " +
            @"having been above it\)$", e.Evidence);

        // Healthy spread across z: quiet, and still judged (not "not logged") when only diversity_z and diversity exist.
        var healthy = Build(80, (i, r) => new Dictionary<string, double> { ["diversity"] = 1.9, ["diversity_z"] = 0.7 + 0.05 * Math.Sin(i) });
        var verdict = Evaluate(new ModeCollapseDetector(), healthy);
        Assert.Equal(VerdictStatus.Healthy, verdict.Status);
    }

    [Fact]
    public void DMemorisingJudgesSparseHeldOutPointsWithTheTrainingReference()
    {
        // Validation every 10 records (SPADE's --val-every): D_acc_train and D_acc_heldout only there; r_t stays high
        // throughout but no longer decides once held-out accuracy exists.
        var run = Build(200, (i, r) =>
        {
            var v = Healthy(i, r);
            v.Remove("D_acc_heldout");
            v["r_t"] = 0.95;
            v["D_acc_real"] = 0.5;
            if (i % 10 == 0)
            {
                v["D_acc_train"] = i >= 100 ? 0.95 : 0.7;
                v["D_acc_heldout"] = i >= 100 ? 0.6 : 0.68;
            }
            return v;
        });
        var e = Assert.Single(Evaluate(new DMemorisingDetector(), run).Episodes);
        // Held-out points 100..140 all show the gap: the episode fires at 140, is shaded from 100 and lasts to the end.
        Assert.Equal((100, 199), (e.StartIndex, e.EndIndex));
        // The live doctor warns once for it, not at every held-out measurement.
        var live = new LiveDoctor(null, [new DMemorisingDetector()]);
        foreach (var rec in run) live.OnStats(rec);
        Assert.Equal(140 * Step + Step, Assert.Single(live.Warnings).Iteration);
        Assert.Equal("D accuracy on training reals exceeds held-out reals by 35 points (threshold 20 over the last 5 held-out measurements)",
            e.Evidence);
    }

    [Fact]
    public void PerceptualOverfitFiresWhenValidationRisesWhileTrainingFalls()
    {
        var run = Build(200, (i, r) =>
        {
            var v = Healthy(i, r);
            if (v.ContainsKey("val/VGG") && i >= 100) v["val/VGG"] = 2.8 + 0.01 * (i - 100);
            return v;
        });
        var verdict = Evaluate(new PerceptualOverfitDetector(), run);
        Assert.Equal(VerdictStatus.Fired, verdict.Status);
        Assert.Contains("val/VGG", verdict.Episodes[0].Evidence);
        Assert.True(verdict.Episodes[0].EndIndex == 199);
    }

    [Fact]
    public void DMemorisingUsesTheHeldOutGapAndFallsBackToRt()
    {
        var run = Build(60, With(30, 60, (_, v) =>
        {
            v["D_acc_real"] = 0.97;
            v["D_acc_heldout"] = 0.6;
        }));
        var e = Assert.Single(Evaluate(new DMemorisingDetector(), run).Episodes);
        Assert.Equal((30, 59), (e.StartIndex, e.EndIndex));
        Assert.Contains("by 37 points", e.Evidence);

        var rtOnly = Build(60, (i, r) =>
        {
            var v = Healthy(i, r);
            v.Remove("D_acc_heldout");
            if (i >= 30) v["r_t"] = 0.95;
            return v;
        });
        var e2 = Assert.Single(Evaluate(new DMemorisingDetector(), rtOnly).Episodes);
        Assert.Contains("may also be D overpowering G", e2.Evidence);
    }

    [Fact]
    public void BeganMFiresWhenMRisesOffItsBest()
    {
        var run = Build(100, With(60, 100, (i, v) => v["M"] = 0.06 + 0.004 * (i - 60)));
        var verdict = Evaluate(new BeganMDetector(), run);
        Assert.Equal(VerdictStatus.Fired, verdict.Status);
        Assert.Equal(99, verdict.Episodes[^1].EndIndex);
        // M that never falls from its start is a stall too.
        var flat = Build(40, (i, r) => new Dictionary<string, double> { ["M"] = 0.2 + (r.NextDouble() - 0.5) * 0.004 });
        Assert.Equal(VerdictStatus.Fired, Evaluate(new BeganMDetector(), flat).Status);
    }

    [Fact]
    public void WganCriticFiresOnNegativeEstimateAndOnScale()
    {
        var negative = Build(60, (i, r) =>
        {
            var v = HealthyWgan(i, r);
            if (i >= 30) v["W_dist"] = -0.4;
            return v;
        });
        var e = Assert.Single(Evaluate(new WganCriticDetector(), negative).Episodes);
        Assert.Equal((30, 59), (e.StartIndex, e.EndIndex));

        var scale = Build(60, (i, r) =>
        {
            var v = HealthyWgan(i, r);
            if (i == 45) v["D(x)"] = 5000;
            return v;
        });
        var e2 = Assert.Single(Evaluate(new WganCriticDetector(), scale).Episodes);
        Assert.Equal((45, 45), (e2.StartIndex, e2.EndIndex));
        Assert.Contains("5e+3", e2.Evidence);
    }

    [Fact]
    public void MetricJumpFiresOnALateFidJump()
    {
        double[] fid = [30, 20, 12, 8, 9, 300, 280, 9.5];
        var run = Build(80, (i, r) =>
        {
            var v = Healthy(i, r);
            v.Remove("FID");
            if (i % 10 == 9) v["eval/FID"] = fid[i / 10];
            return v;
        });
        var e = Assert.Single(Evaluate(new MetricJumpDetector(), run).Episodes);
        Assert.Equal(50, e.StartIndex);   // shaded from just after the last good evaluation (index 49)
        Assert.Equal(78, e.EndIndex);     // through the second bad evaluation, until the record before the recovered one
        Assert.Equal("eval/FID jumped to 300 after a best of 8 (×37.5)", e.Evidence);
    }
}
