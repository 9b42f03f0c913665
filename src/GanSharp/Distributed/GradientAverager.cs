using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanSharp.Distributed;

/// <summary>
/// Averages the gradients of one optimizer's parameters over the ranks, between backward and the optimizer step. The
/// gradients are copied into flat buckets of about <see cref="BucketFloats"/> floats, one allreduce per bucket: one MPI
/// call per tensor would pay MPI's latency hundreds of times per step (SPADE's G has ~200 parameter tensors).
/// Losses are batch means, so the mean over ranks of each rank's gradient is the gradient of the global batch.
/// A parameter without a gradient has none on every rank (the graphs are the same), so it is skipped everywhere, as the
/// optimizer skips it.
/// </summary>
internal sealed class GradientAverager(Communicator comm, IReadOnlyList<Parameter> parameters)
{
    /// <summary>4 Mi floats (16 MiB): large enough to amortise latency, small enough not to double peak memory.</summary>
    public const int BucketFloats = 4 << 20;

    public void Average(string what)
    {
        if (!comm.IsDistributed) return;
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        using var _ = no_grad();
        // p.grad hands out a new tensor handle per call: the scope frees them with the step.
        using var scope = NewDisposeScope();
        var bucket = new List<Tensor>();
        long filled = 0;
        foreach (var p in parameters)
        {
            var g = p.grad;
            if (g is null) continue;
            bucket.Add(g);
            filled += g.numel();
            if (filled >= BucketFloats)
            {
                Reduce(bucket, what);
                bucket.Clear();
                filled = 0;
            }
        }
        if (bucket.Count > 0) Reduce(bucket, what);
        comm.GradientSeconds += System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    private void Reduce(List<Tensor> grads, string what)
    {
        using var scope = NewDisposeScope();
        var flat = cat(grads.Select(g => g.reshape(-1)).ToList()).contiguous();
        comm.AllreduceSum(flat, what);
        flat.div_(comm.Size);
        long off = 0;
        foreach (var g in grads)
        {
            long n = g.numel();
            g.copy_(flat.narrow(0, off, n).view_as(g));
            off += n;
        }
    }
}
