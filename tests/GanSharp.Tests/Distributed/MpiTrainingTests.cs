using GanSharp.Interop;
using GanSharp.Tests.Reliability;

namespace GanSharp.Tests.Distributed;

/// <summary>
/// Two ranks of batch 1 under mpirun (loopback, the built CLI) against one process of batch 2: the same weights after
/// three iterations, since each rank reads its contiguous half of every global batch and gradients are averaged.
/// </summary>
public sealed class MpiTrainingTests
{
    private const string MpiRun = "/usr/bin/mpirun";

    // Not yet passing: the 2-rank run completes (sharding, allreduce, rank-0 checkpoints) but its weights differ from
    // the 1-rank run's after 3 iterations (G: 2e-2 with instance norms, 1.4e-1 with syncbatch); the cause is not found yet.
    [Theory(Skip = "2x1 weights differ from 1x2 (G: 2e-2 instance, 1.4e-1 syncbatch); cause under investigation")]
    [InlineData("spectralinstance", "spectralspadeinstance3x3")]
    [InlineData("spectralsync_batch", "spectralspadesyncbatch3x3")]
    public void TwoRanksOfOneEqualOneRankOfTwo(string normD, string normG)
    {
        if (!File.Exists(MpiRun)) return;
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
            foreach (var (key, t) in a.Entries)
            {
                if (!t.is_floating_point()) continue;
                var u = b.Entries.First(e => e.Key == key).Value;
                worst = Math.Max(worst, (t - u).abs().max().item<float>());
            }
            Assert.True(worst <= 1e-5, $"{net}: largest difference {worst:E2}\n{out2}");
        }
    }
}
