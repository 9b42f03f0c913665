using static TorchSharp.torch;

namespace GanSharp.Training.Tricks;

/// <summary>Points on the sphere of radius √dim and great-circle interpolation (ganhacks §3).</summary>
internal static class Latent
{
    /// <summary>z [n, dim]: N(0, I), or normalised onto the sphere of radius √dim where Gaussian samples concentrate.</summary>
    public static Tensor Sample(long n, long dim, bool sphere, Generator? gen = null)
    {
        var z = randn([n, dim], generator: gen);
        if (!sphere) return z;
        using (z) return nn.functional.normalize(z, p: 2, dim: 1) * Math.Sqrt(dim);
    }

    /// <summary>Spherical interpolation between rows of a and b at fractions t ∈ [0, 1] (scalar or [n]).</summary>
    public static Tensor Slerp(Tensor a, Tensor b, Tensor t)
    {
        using var scope = NewDisposeScope();
        var tt = t.reshape(-1, 1).to_type(a.dtype);
        var an = nn.functional.normalize(a, p: 2, dim: 1);
        var bn = nn.functional.normalize(b, p: 2, dim: 1);
        var omega = (an * bn).sum(1, keepdim: true).clamp(-1 + 1e-7, 1 - 1e-7).acos();
        var so = omega.sin();
        var slerp = ((1 - tt) * omega).sin() / so * a + (tt * omega).sin() / so * b;
        // Nearly parallel vectors make sin(ω) vanish: fall back to the straight line there.
        var lerp = a + (b - a) * tt;
        return where(so.abs().lt(1e-4), lerp, slerp).MoveToOuterDisposeScope();
    }
}
