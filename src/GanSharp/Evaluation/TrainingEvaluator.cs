using GanSharp.Data;
using static TorchSharp.torch;

namespace GanSharp.Evaluation;

/// <summary>
/// FID and KID of generator output against a fixed real subset, for evaluation every N epochs during training:
/// the real features are computed once, fakes are quantised to uint8 like saved images.
/// </summary>
internal sealed class TrainingEvaluator : IDisposable
{
    private readonly InceptionFeatureExtractor extractor;
    private readonly FeatureMatrix realPool;
    private readonly GaussianStats realStats;

    /// <param name="extractor">Feature extractor (owned by this object).</param>
    /// <param name="reals">The fixed real subset.</param>
    public TrainingEvaluator(InceptionFeatureExtractor extractor, IReadOnlyList<RgbImage> reals)
    {
        this.extractor = extractor;
        realPool = extractor.Extract(reals).Pool3;
        realStats = GaussianStats.FromFeatures(realPool);
    }

    /// <summary>FID and KID (mean, std) of <paramref name="fakes"/> [N, 3, H, W] in [-1, 1].</summary>
    public (double Fid, KidResult Kid) Score(Tensor fakes, int seed = 0, int kidSubsets = 100, int kidSubsetSize = 1000)
    {
        var fake = extractor.Extract(fakes).Pool3;
        return (Frechet.Distance(GaussianStats.FromFeatures(fake), realStats), FeatureMetrics.Kid(realPool, fake, kidSubsets, kidSubsetSize, seed));
    }

    public void Dispose() => extractor.Dispose();
}
