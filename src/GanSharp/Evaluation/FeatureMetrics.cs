using static TorchSharp.torch;

namespace GanSharp.Evaluation;

/// <summary>KID over random subsets: the mean and (population) std of the per-subset unbiased MMD².</summary>
internal sealed record KidResult(double Mean, double Std, int Subsets, int SubsetSize, int Seed);

/// <summary>Inception Score: mean and std of exp(E[KL(p(y|x) ‖ p(y))]) over splits.</summary>
internal sealed record InceptionScoreResult(double Mean, double Std, int Splits);

/// <summary>Improved precision and recall (Kynkäänniemi et al. 2019) with k-NN radii.</summary>
internal sealed record PrecisionRecallResult(double Precision, double Recall, int K);

/// <summary>The feature-space metrics next to FID: KID, Inception Score, precision/recall.</summary>
internal static class FeatureMetrics
{
    /// <summary>
    /// Kernel Inception Distance as torch-fidelity and clean-fid compute it: k(x, y) = (x·y/d + 1)³, unbiased MMD²
    /// per subset of size min(<paramref name="maxSubsetSize"/>, n_real, n_fake) drawn without replacement.
    /// </summary>
    public static KidResult Kid(FeatureMatrix real, FeatureMatrix fake, int subsets = 100, int maxSubsetSize = 1000, int seed = 0)
    {
        if (real.Cols != fake.Cols) throw new ArgumentException("feature widths differ", nameof(fake));
        int m = Math.Min(maxSubsetSize, Math.Min(real.Rows, fake.Rows));
        if (m < 2)
            throw new GanSharpException(ErrorKind.Data,
                $"KID needs at least 2 images per side, got {real.Rows} real and {fake.Rows} fake: add images.");
        var rng = new Random(seed);
        var realIdx = new int[subsets][];
        var fakeIdx = new int[subsets][];
        for (int s = 0; s < subsets; s++)
        {
            realIdx[s] = SampleWithoutReplacement(rng, real.Rows, m);
            fakeIdx[s] = SampleWithoutReplacement(rng, fake.Rows, m);
        }
        var values = KidSubsets(real, fake, realIdx, fakeIdx);
        var (mean, std) = MeanStd(values);
        return new KidResult(mean, std, subsets, m, seed);
    }

    /// <summary>Unbiased MMD² for given subsets (rows of <paramref name="realIdx"/>/<paramref name="fakeIdx"/>).</summary>
    internal static double[] KidSubsets(FeatureMatrix real, FeatureMatrix fake, int[][] realIdx, int[][] fakeIdx)
    {
        using var scope = NewDisposeScope();
        var r = tensor(real.Data, [real.Rows, real.Cols], ScalarType.Float64);
        var f = tensor(fake.Data, [fake.Rows, fake.Cols], ScalarType.Float64);
        double d = real.Cols;
        var result = new double[realIdx.Length];
        for (int s = 0; s < realIdx.Length; s++)
        {
            using var inner = NewDisposeScope();
            int m = realIdx[s].Length;
            var y = r.index_select(0, tensor(realIdx[s].Select(i => (long)i).ToArray()));
            var x = f.index_select(0, tensor(fakeIdx[s].Select(i => (long)i).ToArray()));
            var kxx = (x.matmul(x.t()) / d + 1).pow(3);
            var kyy = (y.matmul(y.t()) / d + 1).pow(3);
            var kxy = (x.matmul(y.t()) / d + 1).pow(3);
            double offDiag = (kxx.sum() - kxx.trace() + kyy.sum() - kyy.trace()).item<double>();
            result[s] = offDiag / ((double)m * (m - 1)) - 2 * kxy.sum().item<double>() / ((double)m * m);
        }
        return result;
    }

    /// <summary>
    /// Inception Score from the classifier logits: softmax, <paramref name="splits"/> consecutive parts (sizes as
    /// <c>np.array_split</c>), exp of the mean KL divergence per part; mean and std over parts.
    /// </summary>
    public static InceptionScoreResult InceptionScore(FeatureMatrix logits, int splits = 10)
    {
        if (logits.Rows < splits)
            throw new GanSharpException(ErrorKind.Data,
                $"the Inception Score with {splits} splits needs at least {splits} images, got {logits.Rows}: add images.");
        using var scope = NewDisposeScope();
        var p = tensor(logits.Data, [logits.Rows, logits.Cols], ScalarType.Float64).softmax(1);
        var logp = p.log();
        var scores = new double[splits];
        int start = 0;
        for (int s = 0; s < splits; s++)
        {
            int size = logits.Rows / splits + (s < logits.Rows % splits ? 1 : 0);
            var part = p.narrow(0, start, size);
            var py = part.mean([0], keepdim: true);
            var kl = (part * (logp.narrow(0, start, size) - py.log())).sum(1).mean();
            scores[s] = Math.Exp(kl.item<double>());
            start += size;
        }
        var (mean, std) = MeanStd(scores);
        return new InceptionScoreResult(mean, std, splits);
    }

    /// <summary>
    /// Precision: share of fakes inside at least one real k-NN ball; recall: share of reals inside at least one
    /// fake k-NN ball. The radius of a point is the distance to its k-th nearest neighbour in its own set (the
    /// point itself excluded).
    /// </summary>
    public static PrecisionRecallResult PrecisionRecall(FeatureMatrix real, FeatureMatrix fake, int k = 3)
    {
        if (real.Rows <= k || fake.Rows <= k)
            throw new GanSharpException(ErrorKind.Data,
                $"precision/recall with k = {k} needs more than {k} images per side, got {real.Rows} real and {fake.Rows} fake: add images.");
        using var scope = NewDisposeScope();
        var r = tensor(real.Data, [real.Rows, real.Cols], ScalarType.Float64);
        var f = tensor(fake.Data, [fake.Rows, fake.Cols], ScalarType.Float64);
        var rRadius = KthRadius(r, k);
        var fRadius = KthRadius(f, k);
        return new PrecisionRecallResult(Coverage(f, r, rRadius), Coverage(r, f, fRadius), k);
    }

    private const int ChunkRows = 1024;   // bounds the distance block to 1024 x N doubles

    private static Tensor KthRadius(Tensor set, int k)
    {
        var parts = new List<Tensor>();
        for (long s = 0; s < set.shape[0]; s += ChunkRows)
        {
            var rows = set.narrow(0, s, Math.Min(ChunkRows, set.shape[0] - s));
            // index k of the sorted row skips the point itself at index 0
            parts.Add(Distances(rows, set).sort(1).Values.select(1, k));
        }
        return cat(parts, 0);
    }

    private static double Coverage(Tensor queries, Tensor support, Tensor supportRadius)
    {
        long inside = 0;
        for (long s = 0; s < queries.shape[0]; s += ChunkRows)
        {
            var q = queries.narrow(0, s, Math.Min(ChunkRows, queries.shape[0] - s));
            inside += Distances(q, support).le(supportRadius.unsqueeze(0)).any(1).sum().item<long>();
        }
        return (double)inside / queries.shape[0];
    }

    /// <summary>Euclidean distances via ‖a‖² + ‖b‖² − 2a·b in double: memory O(rows·N), not O(rows·N·d).</summary>
    private static Tensor Distances(Tensor a, Tensor b)
    {
        var aa = a.square().sum(1, keepdim: true);                  // [rows, 1]
        var bb = b.square().sum(1).unsqueeze(0);                    // [1, N]
        return (aa + bb - 2 * a.matmul(b.t())).clamp_min(0).sqrt();
    }

    private static int[] SampleWithoutReplacement(Random rng, int n, int m)
    {
        var all = Enumerable.Range(0, n).ToArray();
        for (int i = 0; i < m; i++)
        {
            int j = rng.Next(i, n);
            (all[i], all[j]) = (all[j], all[i]);
        }
        return all[..m];
    }

    private static (double Mean, double Std) MeanStd(double[] v)
    {
        double mean = v.Average();
        double var = v.Sum(x => (x - mean) * (x - mean)) / v.Length;
        return (mean, Math.Sqrt(var));
    }
}
