using static TorchSharp.torch;

namespace GanSharp.Distributed;

/// <summary>
/// Batch-norm statistics over the global batch of all ranks, differentiable: each per-channel sum is summed over the
/// ranks in the forward, and its gradient is summed over the ranks in the backward (the gradient of a sum of sums).
/// With the parameter gradients then averaged over ranks, K ranks of batch b compute what one rank of batch K·b does.
/// TorchSharp 0.107 has no tensor hooks but has custom autograd functions (SingleTensorFunction), which make this exact.
/// </summary>
internal static class SyncBatchStatistics
{
    /// <summary>
    /// Normalises <paramref name="x"/> [N, C, H, W] with the mean and biased variance of all ranks' batches (two passes, as
    /// precise as F.batch_norm's own), updates the running statistics with the unbiased variance (momentum
    /// <paramref name="momentum"/>), and applies the affine weight and bias when given.
    /// </summary>
    public static Tensor Normalize(IRankSum comm, Tensor x, Tensor? runningMean, Tensor? runningVar, Tensor? weight, Tensor? bias,
        double momentum, double eps)
    {
        long c = x.shape[1];
        long count = x.numel() / c * comm.Size;
        long[] dims = [0, 2, 3];
        var shape = new long[] { 1, c, 1, 1 };
        var mean = AllreduceSumFunction.apply(x.sum(dims), comm).div(count);
        var centered = x - mean.view(shape);
        var variance = AllreduceSumFunction.apply(centered.square().sum(dims), comm).div(count);
        if (runningMean is not null && runningVar is not null)
        {
            using var _ = no_grad();
            runningMean.mul_(1 - momentum).add_(mean.detach(), alpha: momentum);
            runningVar.mul_(1 - momentum).add_(variance.detach() * ((double)count / Math.Max(1, count - 1)), alpha: momentum);
        }
        var y = centered * (variance + eps).rsqrt().view(shape);
        if (weight is not null) y = y * weight.view(shape);
        if (bias is not null) y = y + bias.view(shape);
        return y;
    }

    /// <summary>y = Σ over ranks of x; dL/dx = Σ over ranks of dL_r/dy.</summary>
    private sealed class AllreduceSumFunction : autograd.SingleTensorFunction<AllreduceSumFunction>
    {
        private const string RanksKey = "ranks";

        public override string Name => "GanSharpAllreduceSum";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var ranks = (IRankSum)vars[1];
            ctx.save_data(RanksKey, ranks);
            var sum = ((Tensor)vars[0]).contiguous().clone();
            ranks.AllreduceSum(sum, "synchronized batch norm (forward)");
            return sum;
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            var g = gradOutput.contiguous().clone();
            ((IRankSum)ctx.get_data(RanksKey)).AllreduceSum(g, "synchronized batch norm (backward)");
            // One gradient per argument: none for the ranks.
            return [g, null!];
        }
    }
}

/// <summary>What the synchronized batch norm needs of the ranks: their number and an in-place sum (tests simulate ranks).</summary>
internal interface IRankSum
{
    int Size { get; }

    /// <summary>Sums a contiguous floating CPU tensor over the ranks, in place; every rank calls it in the same order.</summary>
    void AllreduceSum(Tensor t, string what);
}
