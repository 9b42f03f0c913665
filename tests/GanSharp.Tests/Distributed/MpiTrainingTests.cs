using GanSharp.Interop;
using GanSharp.Tests.Reliability;

namespace GanSharp.Tests.Distributed;

/// <summary>
/// Two ranks of batch 1 under mpirun (loopback, the built CLI) against one process of batch 2: the same weights after
/// three iterations, since each rank reads its contiguous half of every global batch and gradients are averaged.
/// </summary>
public sealed class MpiTrainingTests
{
    private const string MpiRun = MpiFactAttribute.MpiRun;

    // Not yet passing. What was measured (per-parameter gradients dumped after the allreduce, crop 32, ngf 2):
    // - instance norms: iteration 1's losses and averaged gradients equal the 1-rank run's to float rounding (~1e-6
    //   relative), so sharding, crop/flip RNG, loss averaging and the bucketed allreduce are right. The weights still
    //   drift apart because Adam (beta1 0, beta2 0.9, eps 1e-8) turns rounding noise into full lr-sized steps where the
    //   true gradient is 0: D's last bias gets +-4e-8 (the hinge terms of real and fake cancel exactly at init), which Adam
    //   makes a 3e-4 step of either sign; 3 steps then differ by ~1e-3 > 1e-5. Weight parity at 1e-5 needs the sums to
    //   be bit-identical, or the test must compare gradients before the step instead.
    // - syncbatch: the forward is right (losses equal the 1-rank run's), but weight gradients differ by ~0.6 % in
    //   L1: the synchronized backward (SyncBatchStatistics) is still wrong somewhere.
    [MpiTheory(Skip = "2x1 == 1x2 within 1e-5 fails: Adam amplifies rounding noise (instance); syncbatch backward off by ~0.6 % (see comment)")]
    [InlineData("spectralinstance", "spectralspadeinstance3x3")]
    [InlineData("spectralsync_batch", "spectralspadesyncbatch3x3")]
    public void TwoRanksOfOneEqualOneRankOfTwo(string normD, string normG)
    {
        using var tiny = new TinySpade();
        string[] common = ["--max-iterations", "3", "--norm-D", normD, "--norm-E", normD, "--norm-G", normG, "--seed", "5"];
        var (code, output) = Reliability.Cli.Run([.. tiny.Train(tiny.Checkpoints, common), "--name", "one"]);
        Assert.True(code == 0, output);
        string dll = typeof(GanSharp.Cli.Program).Assembly.Location;
        string[] args =
            ["-np", "2", "--oversubscribe", "--allow-run-as-root", "dotnet", dll, .. tiny.Train(tiny.Checkpoints, common), "--name", "two"];
        var env = new Dictionary<string, string?> { ["OMPI_MCA_btl"] = "self,tcp", ["OMP_NUM_THREADS"] = "1" };
        var (code2, out2, _) = ChildProcess.Run(MpiRun, args, env, TimeSpan.FromMinutes(8));
        Assert.True(code2 == 0, out2);
        foreach (var net in new[] { "G", "D" })
        {
            using var a = WeightsFile.ReadStateDict(Path.Combine(tiny.Checkpoints, "one", $"latest_net_{net}.pth"));
            using var b = WeightsFile.ReadStateDict(Path.Combine(tiny.Checkpoints, "two", $"latest_net_{net}.pth"));
            double worst = 0;
            var diffs = new List<string>();
            foreach (var (key, t) in a.Entries)
            {
                if (!t.is_floating_point()) continue;
                var u = b.Entries.First(e => e.Key == key).Value;
                double d = (t - u).abs().max().item<float>();
                if (d > 1e-5) diffs.Add($"{key} {d:E2}");
                worst = Math.Max(worst, d);
            }
            Assert.True(worst <= 1e-5, $"{net}: largest difference {worst:E2}\n{string.Join("\n", diffs)}");
        }
    }
}
