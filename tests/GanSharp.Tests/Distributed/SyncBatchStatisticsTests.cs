using GanSharp.Distributed;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GanSharp.Tests.Distributed;

/// <summary>
/// The synchronized batch norm of two ranks, simulated by two threads in this process (no MPI), against F.batch_norm on
/// the concatenated batch: outputs, input gradients, summed affine gradients and running statistics, in float64.
/// </summary>
public sealed class SyncBatchStatisticsTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TwoRanksEqualBatchNormOfTheConcatenatedBatch(bool affine)
    {
        manual_seed(3);
        var x = randn([4, 3, 5, 6], ScalarType.Float64) * 2 + 0.5;
        var upstream = randn([4, 3, 5, 6], ScalarType.Float64);
        var gamma = rand(3, ScalarType.Float64) + 0.5;
        var beta = randn(3, ScalarType.Float64);

        var xr = x.clone().requires_grad_();
        var gr = gamma.clone().requires_grad_();
        var br = beta.clone().requires_grad_();
        var meanRef = zeros(3, ScalarType.Float64);
        var varRef = ones(3, ScalarType.Float64);
        var yRef = F.batch_norm(xr, meanRef, varRef, affine ? gr : null, affine ? br : null, training: true, momentum: 0.1, eps: 1e-5);
        (yRef * upstream).sum().backward();

        using var group = new ThreadRanks(2);
        var ranks = new RankResult[2];
        var errors = new Exception?[2];
        var threads = Enumerable.Range(0, 2).Select(r => new Thread(() =>
        {
            try
            {
                ranks[r] = RunRank(group.Member(r), x.narrow(0, 2 * r, 2), upstream.narrow(0, 2 * r, 2), gamma, beta, affine);
            }
            catch (Exception e)
            {
                errors[r] = e;
                group.Break();
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        foreach (var e in errors) if (e is not null) throw new InvalidOperationException("a simulated rank failed", e);

        AssertClose(yRef, cat([ranks[0].Y, ranks[1].Y]), "output");
        AssertClose(xr.grad!, cat([ranks[0].DX, ranks[1].DX]), "input gradient");
        if (affine)
        {
            // Each rank's affine gradient is its own samples' part; the sum over ranks is the whole batch's gradient.
            AssertClose(gr.grad!, ranks[0].DGamma! + ranks[1].DGamma!, "weight gradient");
            AssertClose(br.grad!, ranks[0].DBeta! + ranks[1].DBeta!, "bias gradient");
        }
        foreach (var rank in ranks)
        {
            AssertClose(meanRef, rank.RunningMean, "running mean");
            AssertClose(varRef, rank.RunningVar, "running variance (unbiased over the global batch)");
        }
    }

    private static RankResult RunRank(IRankSum ranks, Tensor x, Tensor upstream, Tensor gamma, Tensor beta, bool affine)
    {
        var xs = x.clone().requires_grad_();
        var g = gamma.clone().requires_grad_();
        var b = beta.clone().requires_grad_();
        var mean = zeros(3, ScalarType.Float64);
        var variance = ones(3, ScalarType.Float64);
        var y = SyncBatchStatistics.Normalize(ranks, xs, mean, variance, affine ? g : null, affine ? b : null, 0.1, 1e-5);
        (y * upstream).sum().backward();
        return new RankResult(y.detach(), xs.grad!, affine ? g.grad : null, affine ? b.grad : null, mean, variance);
    }

    private static void AssertClose(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        double scale = Math.Max(1, expected.abs().max().item<double>());
        double worst = (expected - actual).abs().max().item<double>();
        Assert.True(worst <= 1e-12 * scale, $"{what}: largest difference {worst:E2} (values up to {scale:G3})");
    }

    private sealed record RankResult(Tensor Y, Tensor DX, Tensor? DGamma, Tensor? DBeta, Tensor RunningMean, Tensor RunningVar);

    /// <summary>Ranks as threads: each sum waits for every member's tensor and adds them in rank order, in float64.</summary>
    private sealed class ThreadRanks(int size) : IDisposable
    {
        private readonly Barrier _barrier = new(size);
        private readonly double[][] _slots = new double[size][];

        public IRankSum Member(int rank) => new Rank(this, rank);

        public void Break() => _barrier.RemoveParticipant();

        public void Dispose() => _barrier.Dispose();

        private sealed class Rank(ThreadRanks group, int rank) : IRankSum
        {
            public int Size => group._slots.Length;

            public void AllreduceSum(Tensor t, string what)
            {
                group._slots[rank] = t.to_type(ScalarType.Float64).data<double>().ToArray();
                if (!group._barrier.SignalAndWait(TimeSpan.FromSeconds(30))) throw new TimeoutException($"{what}: a rank did not arrive");
                var sum = new double[group._slots[rank].Length];
                foreach (var slot in group._slots)
                    for (int i = 0; i < sum.Length; i++) sum[i] += slot[i];
                if (!group._barrier.SignalAndWait(TimeSpan.FromSeconds(30))) throw new TimeoutException($"{what}: a rank did not leave");
                using var reduced = tensor(sum, t.shape, ScalarType.Float64);
                t.copy_(reduced);
            }
        }
    }
}
