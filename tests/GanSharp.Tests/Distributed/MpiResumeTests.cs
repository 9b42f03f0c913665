using GanSharp.Interop;
using GanSharp.Tests.Reliability;
using static TorchSharp.torch;

namespace GanSharp.Tests.Distributed;

/// <summary>A 2-rank run stopped and resumed, with the same and with another number of ranks (mpirun on loopback).</summary>
[Collection(MpiJob.Collection)]
public sealed class MpiResumeTests
{
    // Crop 32, ngf 2; 4 images and global batch 2, so 2 iterations per epoch and a stop after iteration 1 lies mid-epoch.
    // With experience replay, whose buffer (the same on every rank) is in rank 0's checkpoint. The uninterrupted run sums
    // every gradient after the backward, the other during it: with 2 ranks each sum is a + b either way, bit for bit.
    [MpiFact]
    public void StoppedAndResumedEqualsUninterruptedBitForBit()
    {
        using var tiny = new TinySpade();
        string[] common =
            ["--norm-D", "spectralsync_batch", "--norm-G", "spectralspadesyncbatch3x3", "--seed", "7", "--replay-size", "2", "--replay-prob", "0.5"];
        MpiJob.Run(2, [.. tiny.Train(tiny.Checkpoints, [.. common, "--max-iterations", "3"]), "--name", "whole"], overlap: "off");
        // The README's across-machines form, with this machine listed twice as the hosts.
        string hosts = tiny.Dir.File("hosts");
        File.WriteAllText(hosts, "localhost\nlocalhost\n");
        MpiJob.Run(2, [.. tiny.Train(tiny.Checkpoints, [.. common, "--max-iterations", "1"]), "--name", "cut"], hostfile: hosts);
        MpiJob.Run(2, [.. tiny.Train(tiny.Checkpoints, [.. common, "--max-iterations", "3"]), "--name", "cut", "--continue-train"]);
        foreach (var net in new[] { "G", "D" })
            AssertWeights(Path.Combine(tiny.Checkpoints, "whole"), Path.Combine(tiny.Checkpoints, "cut"), net, 0);
        var (whole, cut) = (State(tiny, "whole"), State(tiny, "cut"));
        foreach (var key in new[] { "epoch", "batch_index", "iteration" }) Assert.Equal(whole[key], cut[key]);
        Assert.Equal(3L, whole["iteration"]);
        var (optWhole, optCut) = ((Dictionary<object, object?>)whole["optimizers"]!, (Dictionary<object, object?>)cut["optimizers"]!);
        foreach (var name in new[] { "G", "D" })
            Assert.True(Same((Tensor)optWhole[name]!, (Tensor)optCut[name]!), $"optimizer {name}'s state differs after the resume");
    }

    // The data position is global: a 2-rank run stopped mid-epoch goes on as one process of batch 2 from the same sample,
    // and a 1-process run as 2 ranks of batch 1. In float64 (see MpiTrainingTests) the result must equal the
    // uninterrupted run within 1e-5.
    [MpiTheory]
    [InlineData(2, 1)]
    [InlineData(1, 2)]
    public void ARunResumedWithAnotherNumberOfRanksContinuesTheSameRun(int before, int after)
    {
        using var tiny = new TinySpade();
        string[] common = ["--norm-D", "spectralsync_batch", "--norm-G", "spectralspadesyncbatch3x3", "--seed", "7"];
        MpiJob.Run(before, [.. tiny.Train(tiny.Checkpoints, [.. common, "--max-iterations", "3"]), "--name", "whole"], float64: true);
        MpiJob.Run(before, [.. tiny.Train(tiny.Checkpoints, [.. common, "--max-iterations", "1"]), "--name", "cut"], float64: true);
        MpiJob.Run(after, [.. tiny.Train(tiny.Checkpoints, [.. common, "--max-iterations", "3"]), "--name", "cut", "--continue-train"],
            float64: true);
        foreach (var net in new[] { "G", "D" })
            AssertWeights(Path.Combine(tiny.Checkpoints, "whole"), Path.Combine(tiny.Checkpoints, "cut"), net, 1e-5);
        var (whole, cut) = (State(tiny, "whole"), State(tiny, "cut"));
        foreach (var key in new[] { "epoch", "batch_index", "iteration" }) Assert.Equal(whole[key], cut[key]);
    }

    // Rank 1 resumes from its own copy of the run folder (mpirun's "A : B" form gives each rank its own command line),
    // a copy whose state holds another iteration's position, optimizer moments, replay buffer and torch generator: the run must
    // still continue rank 0's state and equal the uninterrupted run bit for bit.
    [MpiFact]
    public void EveryRankContinuesRankZerosStateWhateverItsOwnCopyHolds()
    {
        using var tiny = new TinySpade();
        string[] common =
            ["--norm-D", "spectralsync_batch", "--norm-G", "spectralspadesyncbatch3x3", "--seed", "7", "--replay-size", "2", "--replay-prob", "0.5"];
        MpiJob.Run(2, [.. tiny.Train(tiny.Checkpoints, [.. common, "--max-iterations", "3"]), "--name", "whole"]);
        MpiJob.Run(2, [.. tiny.Train(tiny.Checkpoints, [.. common, "--max-iterations", "1"]), "--name", "cut"]);
        string stale = tiny.Dir.File("stale");
        CopyFolder(Path.Combine(tiny.Checkpoints, "cut"), Path.Combine(stale, "cut"));
        // The stale copy keeps the cut run's weights (they must match its weight files) but takes the whole run's
        // iteration-3 position, optimizer moments, tricks' state and generator.
        var (cutState, wholeState) = (State(tiny, "cut"), State(tiny, "whole"));
        foreach (var key in new[] { "optimizers", "extra", "rng", "epoch", "batch_index", "iteration", "epoch_images" })
            cutState[key] = wholeState[key];
        var nets = (Dictionary<object, object?>)cutState["nets"]!;
        foreach (var (name, dict) in nets.ToList())
        {
            var sd = new StateDict();
            foreach (var k in ((OrderedDict)dict!).Keys) sd.Add((string)k, (Tensor)((OrderedDict)dict!)[k]!);
            nets[name] = sd;
        }
        PthWriter.Write(Path.Combine(stale, "cut", "latest_state.pth"), cutState);
        string[] Rank(string dir) =>
            ["-np", "1", "dotnet", MpiJob.Dll, .. tiny.Train(dir, [.. common, "--max-iterations", "3"]), "--name", "cut", "--continue-train"];
        var (code, output, error) = ChildProcess.Run(MpiFactAttribute.MpiRun,
            ["--oversubscribe", "--allow-run-as-root", .. Rank(tiny.Checkpoints), ":", .. Rank(stale)], MpiJob.Environment(false),
            TimeSpan.FromMinutes(6));
        Assert.True(code == 0, output + error);
        foreach (var net in new[] { "G", "D" })
            AssertWeights(Path.Combine(tiny.Checkpoints, "whole"), Path.Combine(tiny.Checkpoints, "cut"), net, 0);
        var (optWhole, optCut) = ((Dictionary<object, object?>)State(tiny, "whole")["optimizers"]!,
            (Dictionary<object, object?>)State(tiny, "cut")["optimizers"]!);
        foreach (var name in new[] { "G", "D" })
            Assert.True(Same((Tensor)optWhole[name]!, (Tensor)optCut[name]!), $"optimizer {name}'s state differs after the resume");
    }

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }

    private static bool Same(Tensor a, Tensor b) => a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private static Dictionary<object, object?> State(TinySpade tiny, string name) =>
        (Dictionary<object, object?>)PthReader.Read(Path.Combine(tiny.Checkpoints, name, "latest_state.pth"))!;

    private static void AssertWeights(string expectedRun, string actualRun, string net, double tolerance)
    {
        using var a = WeightsFile.ReadStateDict(Path.Combine(expectedRun, $"latest_net_{net}.pth"));
        using var b = WeightsFile.ReadStateDict(Path.Combine(actualRun, $"latest_net_{net}.pth"));
        Assert.Equal(a.Entries.Select(e => e.Key), b.Entries.Select(e => e.Key));
        foreach (var ((key, t), (_, u)) in a.Entries.Zip(b.Entries))
        {
            if (tolerance == 0)
            {
                Assert.True(Same(t, u), $"{net}.{key} differs from the uninterrupted run's");
                continue;
            }
            if (!t.is_floating_point()) continue;
            double d = (t - u).abs().max().to_type(ScalarType.Float64).item<double>();
            Assert.True(d <= tolerance, $"{net}.{key}: {d:E2} from the uninterrupted run's");
        }
    }
}
