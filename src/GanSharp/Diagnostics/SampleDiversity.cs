using static TorchSharp.torch;

namespace GanSharp.Diagnostics;

/// <summary>Sample diversity: how spread a fixed batch of fakes is (mode collapse shrinks it).</summary>
internal static class SampleDiversity
{
    /// <summary>
    /// Mean Euclidean distance over all distinct pairs of samples [N, ...] (flattened per sample). A generator that
    /// has collapsed to a few modes maps many z to nearly the same output, so this falls well below the real data's.
    /// </summary>
    public static Tensor MeanPairwiseDistance(Tensor samples)
    {
        using var _ = no_grad();
        long n = samples.shape[0];
        if (n < 2) throw new ArgumentException("diversity needs at least two samples", nameof(samples));
        using var scope = NewDisposeScope();
        var flat = samples.detach().reshape(n, -1).to_type(ScalarType.Float64); // [N, F]
        var d = cdist(flat, flat);                                               // [N, N], zero diagonal
        return d.sum().div(n * (n - 1)).MoveToOuterDisposeScope();
    }
}
