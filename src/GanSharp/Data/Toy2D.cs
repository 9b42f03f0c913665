using static TorchSharp.torch;

namespace GanSharp.Data;

/// <summary>The 2-D mixtures of the WGAN-GP, VEEGAN and PacGAN papers.</summary>
internal enum Toy2DKind
{
    /// <summary>8 Gaussians on a ring of radius 2, std 0.02.</summary>
    Ring8,
    /// <summary>25 Gaussians on the 5x5 grid {-4,-2,0,2,4}², std 0.05.</summary>
    Grid25,
}

/// <summary>A batch of 2-D points [N, 2], with the mixture component each was drawn from when known.</summary>
public sealed class PointBatch(Tensor points, Tensor? modes = null) : IGanBatch
{
    public Tensor Points { get; } = points;

    /// <summary>The mode each point was drawn from [N] (int64): the class for conditional families.</summary>
    public Tensor? Modes { get; } = modes;

    Tensor IGanBatch.Data => Points;

    Tensor? IGanBatch.Labels => Modes;

    public void Dispose()
    {
        Points.Dispose();
        Modes?.Dispose();
    }
}

/// <summary>
/// Samples a 2-D mixture. Each batch is drawn from a generator seeded by (seed, epoch, index), so the stream is the
/// same however a run is interrupted and resumed.
/// </summary>
internal sealed class Toy2DSource(Toy2DKind kind, int batchSize, int batchesPerEpoch, int seed) : Training.IBatchSource<PointBatch>
{
    public int BatchesPerEpoch { get; } = batchesPerEpoch;

    public int BatchSize { get; } = batchSize;

    public Toy2DKind Kind { get; } = kind;

    public IEnumerable<PointBatch> Epoch(int epoch, int startIndex)
    {
        for (int i = startIndex; i < BatchesPerEpoch; i++)
        {
            using var gen = new Generator((ulong)MixSeed(seed, epoch, i));
            var (points, modes) = SampleLabelled(Kind, BatchSize, gen);
            yield return new PointBatch(points, modes);
        }
    }

    /// <summary>Mode centres of a mixture [M, 2].</summary>
    public static Tensor Centers(Toy2DKind kind)
    {
        if (kind == Toy2DKind.Ring8)
        {
            var angles = arange(8, dtype: ScalarType.Float32) * (float)(2 * Math.PI / 8);
            return stack([cos(angles) * 2f, sin(angles) * 2f], 1);
        }
        var g = tensor(new[] { -4f, -2f, 0f, 2f, 4f });
        var xs = g.repeat_interleave(5);
        var ys = g.repeat(5);
        return stack([xs, ys], 1);
    }

    public static float Std(Toy2DKind kind) => kind == Toy2DKind.Ring8 ? 0.02f : 0.05f;

    public static Tensor Sample(Toy2DKind kind, int n, Generator gen)
    {
        var (points, modes) = SampleLabelled(kind, n, gen);
        modes.Dispose();
        return points;
    }

    /// <summary>Points and the mode each came from (same random stream as <see cref="Sample"/>).</summary>
    public static (Tensor Points, Tensor Modes) SampleLabelled(Toy2DKind kind, int n, Generator gen)
    {
        using var centers = Centers(kind);
        var which = randint(0, centers.shape[0], [n], generator: gen);
        using var noise = randn([n, 2], generator: gen);
        return (centers.index_select(0, which) + noise * Std(kind), which);
    }

    /// <summary>Number of modes of a mixture (the classes of conditional families).</summary>
    public static int ModeCount(Toy2DKind kind) => kind == Toy2DKind.Ring8 ? 8 : 25;

    /// <summary>Modes covered (at least <paramref name="minPerMode"/> high-quality samples) and the share of high-quality samples (within 3 std of a
    /// centre).</summary>
    public static (int Modes, double HighQuality) Score(Toy2DKind kind, Tensor samples, int minPerMode = 1)
    {
        using var scope = NewDisposeScope();
        var centers = Centers(kind);
        var d = cdist(samples.detach().cpu().to_type(ScalarType.Float32), centers);
        var (minD, idx) = d.min(1);
        var good = minD.le(3 * Std(kind));
        double hq = good.to_type(ScalarType.Float32).mean().item<float>();
        var counts = bincount(idx.masked_select(good), minlength: centers.shape[0]);
        int modes = (int)counts.ge(minPerMode).sum().item<long>();
        return (modes, hq);
    }

    internal static long MixSeed(int seed, int epoch, int index) =>
        unchecked((long)(((ulong)(uint)seed * 0x9E3779B97F4A7C15UL) ^ ((ulong)(uint)epoch * 0xC2B2AE3D27D4EB4FUL)
            ^ ((ulong)(uint)index * 0x165667B19E3779F9UL)) & long.MaxValue);
}
