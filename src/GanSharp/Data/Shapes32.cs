using GanSharp.Training;
using static TorchSharp.torch;

namespace GanSharp.Data;

/// <summary>
/// A small image data set generated on the fly: 32×32 RGB images of one coloured shape (circle, square, triangle,
/// cross) on a dark background, the shape being the class. Each batch is drawn from a generator seeded by
/// (seed, epoch, index), so the stream is the same however a run is interrupted and resumed.
/// </summary>
internal sealed class Shapes32Source(int batchSize, int batchesPerEpoch, int seed) : IBatchSource<ImageBatch>
{
    /// <summary>Side of the images.</summary>
    public const int Size = 32;

    /// <summary>Number of shape classes.</summary>
    public const int Classes = 4;

    public int BatchesPerEpoch { get; } = batchesPerEpoch;

    public int BatchSize { get; } = batchSize;

    public IEnumerable<ImageBatch> Epoch(int epoch, int startIndex)
    {
        for (int i = startIndex; i < BatchesPerEpoch; i++)
        {
            using var gen = new Generator((ulong)Toy2DSource.MixSeed(seed, epoch, i));
            var (images, labels) = Sample(BatchSize, gen);
            yield return new ImageBatch(images, labels);
        }
    }

    /// <summary>Images [N, 3, 32, 32] in [-1, 1] and their classes [N].</summary>
    public static (Tensor Images, Tensor Labels) Sample(int n, Generator gen)
    {
        using var scope = NewDisposeScope();
        var labels = randint(0, Classes, [n], generator: gen);
        // Centre, half-size and colour per image, kept away from the border so every shape is whole.
        var cx = (rand([n], generator: gen) * 12 + 10).view(n, 1, 1);
        var cy = (rand([n], generator: gen) * 12 + 10).view(n, 1, 1);
        var r = (rand([n], generator: gen) * 4 + 5).view(n, 1, 1);
        var color = rand([n, 3], generator: gen) * 0.7 + 0.3;
        var coords = arange(Size, dtype: ScalarType.Float32) + 0.5f;
        var dx = coords.view(1, 1, Size) - cx;   // [N, 1, 32] broadcast over rows
        var dy = coords.view(1, Size, 1) - cy;   // [N, 32, 1] broadcast over columns
        var adx = dx.abs();
        var ady = dy.abs();
        var circle = (dx * dx + dy * dy).le(r * r);
        var square = maximum(adx, ady).le(r * 0.8);
        // Upward triangle: below the apex line, above the base, narrowing towards the top.
        var triangle = dy.ge(-r).logical_and(dy.le(r * 0.8)).logical_and(adx.le((dy + r) * 0.55));
        var arm = r / 3;
        var cross = adx.le(arm).logical_and(ady.le(r)).logical_or(ady.le(arm).logical_and(adx.le(r)));
        var l = labels.view(n, 1, 1);
        var mask = where(l.eq(0), circle, where(l.eq(1), square, where(l.eq(2), triangle, cross)));
        var m = mask.to_type(ScalarType.Float32).unsqueeze(1);     // [N, 1, 32, 32]
        var bg = full([n, 3, 1, 1], 0.1f);
        var img = bg + m * (color.view(n, 3, 1, 1) - bg);          // [N, 3, 32, 32] in [0, 1]
        var scaled = img * 2 - 1;
        return (scaled.MoveToOuterDisposeScope(), labels.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// A distance between two sets of images in a fixed random-feature space (random 5×5 convolutions, ReLU,
    /// 4×4 average pooling): squared distance of the feature means plus that of the feature standard deviations.
    /// The features depend only on <paramref name="featureSeed"/>, so values are comparable across runs.
    /// </summary>
    public static double FeatureDistance(Tensor a, Tensor b, int featureSeed = 1234)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var gen = new Generator((ulong)featureSeed);
        var w = randn([32, 3, 5, 5], generator: gen) / Math.Sqrt(75);
        var bias = randn([32], generator: gen) * 0.1;
        Tensor Features(Tensor x)
        {
            var h = nn.functional.relu(nn.functional.conv2d(x.detach().cpu().to_type(ScalarType.Float32), w, bias, strides: [2, 2], padding: [2, 2]));
            return nn.functional.adaptive_avg_pool2d(h, [4, 4]).flatten(1);   // [N, 512]
        }
        var fa = Features(a);
        var fb = Features(b);
        var dMean = (fa.mean([0]) - fb.mean([0])).pow(2).sum();
        var dStd = (fa.std([0]) - fb.std([0])).pow(2).sum();
        return (dMean + dStd).item<float>();
    }
}
