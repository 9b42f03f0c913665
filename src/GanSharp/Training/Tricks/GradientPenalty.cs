using static TorchSharp.torch;

namespace GanSharp.Training.Tricks;

/// <summary>Gradient penalties on D, usable with any adversarial loss.</summary>
internal static class GradientPenalty
{
    /// <summary>
    /// WGAN-GP: λ · E[(‖∇ₓD(x̂)‖₂ − 1)²] at x̂ = ε·real + (1 − ε)·fake, ε ~ U[0, 1] per sample.
    /// The graph is kept (create_graph) so the penalty back-propagates into D's weights.
    /// </summary>
    public static Tensor Wgangp(Func<Tensor, Tensor> d, Tensor real, Tensor fake, double lambda, Generator? gen = null)
    {
        using var scope = NewDisposeScope();
        var shape = new long[real.dim()];
        Array.Fill(shape, 1L);
        shape[0] = real.shape[0];
        var eps = rand(shape, generator: gen);
        var xhat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(true);
        var norms = GradNorms(d, xhat);
        return ((norms - 1).pow(2).mean() * lambda).MoveToOuterDisposeScope();
    }

    /// <summary>R1: γ/2 · E[‖∇ₓD(x)‖₂²] on real samples (Mescheder et al. 2018).</summary>
    public static Tensor R1(Func<Tensor, Tensor> d, Tensor real, double gamma)
    {
        using var scope = NewDisposeScope();
        var x = real.detach().clone().requires_grad_(true);
        var norms = GradNorms(d, x);
        return (norms.pow(2).mean() * (gamma / 2)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Lazy R1 (StyleGAN2): the penalty on every <paramref name="interval"/>-th iteration only, multiplied by the
    /// interval so its average strength is unchanged; null on the other iterations.
    /// </summary>
    public static Tensor? LazyR1(Func<Tensor, Tensor> d, Tensor real, double gamma, int interval, long iteration) =>
        iteration % interval == 0 ? R1(d, real, gamma * interval) : null;

    private static Tensor GradNorms(Func<Tensor, Tensor> d, Tensor x)
    {
        var outputs = d(x);
        // retain_graph does not default to create_graph in TorchSharp; the later backward needs both.
        var grads = autograd.grad([outputs.sum()], [x], retain_graph: true, create_graph: true)[0];
        // sqrt(Σg² + ε) rather than norm(): the norm's gradient at a zero gradient is NaN (dead ReLUs make such samples).
        return (grads.flatten(1).pow(2).sum(1) + 1e-12).sqrt();
    }
}
