using GanSharp.Interop;
using GanSharp.Tests.Reliability;
using static TorchSharp.torch;
using Xunit.Abstractions;

namespace GanSharp.Tests.Distributed;

/// <summary>
/// Two ranks of batch 1 under mpirun (loopback, the built CLI) against one process of batch 2: the same weights after
/// three iterations, since each rank reads its contiguous half of every global batch and gradients are averaged.
/// </summary>
[Collection(MpiJob.Collection)]
public sealed class MpiTrainingTests(ITestOutputHelper log)
{
    private const string MpiRun = MpiFactAttribute.MpiRun;

    // Both runs train in float64 (Float64Check): in float32 a mathematically zero gradient (biases in front of a
    // normalisation, D's last bias when the hinge terms cancel) is rounding noise that depends on summation order, and
    // Adam (beta1 0, eps 1e-8) turns it into a +-lr step, so two correct runs end ~1e-3 apart. In float64 that noise is
    // ~1e-16 and any real difference (a wrong shard, loss scale, or synchronized-norm gradient) shows above 1e-5.
    [MpiTheory]
    // The third case adds the VAE (E's noise), experience replay (a buffer of 2 fakes, filled by iteration 1, swapped
    // with p 0.5 after) and the EMA of G.
    [InlineData("spectralinstance", "spectralspadeinstance3x3", "")]
    [InlineData("spectralsync_batch", "spectralspadesyncbatch3x3", "")]
    [InlineData("spectralsync_batch", "spectralspadesyncbatch3x3", "--use-vae --replay-size 2 --replay-prob 0.5 --ema 0.9")]
    // The fourth adds the random tricks: instance noise, DiffAugment with ADA moving p every iteration (to 0.2 with seed
    // 5: the test asserts that p moved), noisy soft targets.
    [InlineData("spectralsync_batch", "spectralspadesyncbatch3x3",
        "--instance-noise 0.1 --diff-augment color,translation,cutout --ada-target 0.01 --ada-interval 1 --ada-speed-images 20 " +
        "--soft-labels uniform --flip-labels 0.5")]
    public void TwoRanksOfOneEqualOneRankOfTwo(string normD, string normG, string tricks)
    {
        using var tiny = new TinySpade();
        string[] common = ["--max-iterations", "3", "--norm-D", normD, "--norm-E", normD, "--norm-G", normG, "--seed", "5",
            .. tricks.Split(' ', StringSplitOptions.RemoveEmptyEntries)];
        string dll = typeof(GanSharp.Cli.Program).Assembly.Location;
        var env = MpiJob.Environment(float64: true);
        env["GANSHARP_MPI_TIMES"] = "1";
        var (code, output, error) = ChildProcess.Run("dotnet", [dll, .. tiny.Train(tiny.Checkpoints, common), "--name", "one"], env,
            TimeSpan.FromMinutes(4));
        Assert.True(code == 0, output + error);
        string[] args =
            ["-np", "2", "--oversubscribe", "--allow-run-as-root", "dotnet", dll, .. tiny.Train(tiny.Checkpoints, common), "--name", "two"];
        var (code2, out2, err2) = ChildProcess.Run(MpiRun, args, env, TimeSpan.FromMinutes(8));
        Assert.True(code2 == 0, out2 + err2);
        // The sums of most gradients started during the backward (MPI_Iallreduce), not after it.
        var times = err2.Split('\n').First(l => l.StartsWith("mpi-times:", StringComparison.Ordinal)).Split(' ');
        double Field(string key) => double.Parse(times[Array.IndexOf(times, key) + 1], System.Globalization.CultureInfo.InvariantCulture);
        double share = Field("overlapped_floats") / (Field("overlapped_floats") + Field("trailing_floats"));
        log.WriteLine($"{share:P1} of the gradient values started their allreduce during the backward");
        Assert.True(share > 0.5, $"{share:P1} of the gradients started their allreduce during the backward");
        if (tricks.Contains("--ada-target", StringComparison.Ordinal))
        {
            // ADA's p moves by the global batch on the statistic of all ranks: the same p as one process's.
            double one = AdaP(Path.Combine(tiny.Checkpoints, "one")), two = AdaP(Path.Combine(tiny.Checkpoints, "two"));
            log.WriteLine($"ADA p: one process {one}, two ranks {two}");
            Assert.Equal(one, two, 12);
            Assert.True(one > 0, "ADA's p did not move: the case no longer tests that p moves by the global batch");
        }
        string[] nets =
        [
            "G", "D", .. tricks.Contains("--use-vae", StringComparison.Ordinal) ? ["E"] : Array.Empty<string>(),
            .. tricks.Contains("--ema", StringComparison.Ordinal) ? ["G_ema"] : Array.Empty<string>(),
        ];
        foreach (var net in nets)
        {
            using var a = WeightsFile.ReadStateDict(Path.Combine(tiny.Checkpoints, "one", $"latest_net_{net}.pth"));
            using var b = WeightsFile.ReadStateDict(Path.Combine(tiny.Checkpoints, "two", $"latest_net_{net}.pth"));
            double worst = 0;
            var diffs = new List<string>();
            foreach (var (key, t) in a.Entries)
            {
                if (!t.is_floating_point()) continue;
                var u = b.Entries.First(e => e.Key == key).Value;
                double d = (t - u).abs().max().to_type(ScalarType.Float64).item<double>();
                log.WriteLine($"{net} {key} {d:E2}");
                if (d > 1e-5) diffs.Add($"{key} {d:E2}");
                worst = Math.Max(worst, d);
            }
            Assert.True(worst <= 1e-5, $"{net}: largest difference {worst:E2}\n{string.Join("\n", diffs)}");
        }
    }

    private static double AdaP(string run)
    {
        var state = (Dictionary<object, object?>)PthReader.Read(Path.Combine(run, "latest_state.pth"))!;
        var ada = (Dictionary<object, object?>)((Dictionary<object, object?>)state["extra"]!)["ada"]!;
        return Convert.ToDouble(ada["p"], System.Globalization.CultureInfo.InvariantCulture);
    }
}
