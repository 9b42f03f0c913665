using static TorchSharp.torch;

namespace GanSharp.Distributed;

/// <summary>
/// Random tricks (instance noise, DiffAugment and ADA, noisy and soft targets) draw for the global batch under mpirun:
/// every rank's generator is in the same state (same seed, same draws), so each rank applies the trick to the global
/// batch with its own samples in its slot (zeros elsewhere; every such trick is per sample) and keeps its part. The
/// draws are then exactly one process's with batch K·b, and the streams stay in step. Alone, the trick applies as is.
/// </summary>
internal static class GlobalDraws
{
    /// <summary><paramref name="perSample"/> of this rank's <paramref name="local"/> samples, drawn as for the global batch.</summary>
    public static Tensor Apply(Tensor local, Func<Tensor, Tensor> perSample)
    {
        var comm = Communicator.World;
        if (!comm.IsDistributed) return perSample(local);
        long n = local.shape[0];
        var parts = new List<Tensor>(3);
        if (comm.Rank > 0) parts.Add(Zeros(local, comm.Rank * n));
        parts.Add(local);
        if (comm.Rank < comm.Size - 1) parts.Add(Zeros(local, (comm.Size - 1 - comm.Rank) * n));
        return perSample(cat(parts, 0)).narrow(0, comm.Rank * n, n);
    }

    /// <summary>Per-sample targets for this rank's <paramref name="n"/> samples, drawn as for the global batch.</summary>
    public static (Tensor Real, Tensor Fake) Targets(long n, Func<long, (Tensor Real, Tensor Fake)> draw)
    {
        var comm = Communicator.World;
        if (!comm.IsDistributed) return draw(n);
        var (real, fake) = draw(n * comm.Size);
        return (real.narrow(0, comm.Rank * n, n), fake.narrow(0, comm.Rank * n, n));
    }

    private static Tensor Zeros(Tensor like, long rows)
    {
        var shape = like.shape.ToArray();
        shape[0] = rows;
        return zeros(shape, dtype: like.dtype, device: like.device);
    }
}
