using GanSharp.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanSharp.Tests.Training;

[Collection("torch-global-rng")]
public class FusedAdamTests
{
    // Sizes: vector tails on both ISAs (7, 1000), and one large enough (3·2^16 + 5) that both threads share it.
    private static readonly long[] Sizes = [7, 1000, 3 * 65536 + 5];

    private static (List<Parameter> Params, List<Tensor> Grads) Make(int seed, ScalarType dtype = ScalarType.Float32)
    {
        manual_seed(seed);
        var ps = Sizes.Select(n => new Parameter(randn(n, dtype: dtype))).ToList();
        var gs = Enumerable.Range(0, 4).SelectMany(_ => Sizes.Select(n => randn(n, dtype: dtype) * 0.1)).ToList();
        return (ps, gs);
    }

    private static void Run(OptimizerHelper opt, List<Parameter> ps, List<Tensor> grads)
    {
        for (int step = 0; step < 4; step++)
        {
            for (int i = 0; i < ps.Count; i++)
            {
                using var _ = no_grad();
                ps[i].grad = grads[step * ps.Count + i].clone();
            }
            opt.step();
        }
    }

    [Theory]
    [InlineData(0.0, 0.9, 0.0)]
    [InlineData(0.5, 0.999, 0.01)]
    public void FusedUpdateAgreesWithTorchSharpsAdamToAUnitInTheLastPlace(double beta1, double beta2, double weightDecay)
    {
        var (mine, grads) = Make(5);
        var (theirs, _) = Make(5);
        using var fused = new FusedAdam(mine, 1e-2, beta1, beta2, 1e-8, weightDecay);
        using var reference = optim.Adam(theirs, 1e-2, beta1, beta2, 1e-8, weightDecay);
        Run(fused, mine, grads);
        Run(reference, theirs, grads);
        var fusedState = fused.state_dict().State.Cast<Adam.State>().ToList();
        var refState = reference.state_dict().State.Cast<Adam.State>().ToList();
        for (int i = 0; i < mine.Count; i++)
        {
            // The parameters moved (4 steps of ~lr each) ...
            Assert.True((mine[i] - Make(5).Params[i]).abs().max().item<float>() > 0.02);
            // ... exactly as TorchSharp's Adam moves them, up to float rounding (parameters are O(1): one ulp ≈ 1.2e-7).
            Assert.True((mine[i] - theirs[i]).abs().max().item<float>() <= 5e-7, $"parameter {i}");
            Assert.Equal(refState[i].step, fusedState[i].step);
            // The moments to a millionth of their largest value (a few ulps; where m cancels to ~0 only absolutely).
            var pairs = new[]
            {
                (fusedState[i].exp_avg, refState[i].exp_avg, "exp_avg"), (fusedState[i].exp_avg_sq, refState[i].exp_avg_sq, "exp_avg_sq"),
            };
            foreach (var (f, r, name) in pairs)
            {
                double error = (f - r).abs().max().item<float>(), scale = r.abs().max().item<float>();
                Assert.True(scale > 0 && error <= 1e-6 * scale, $"{name} {i}: {error} of {scale}");
            }
        }
    }

    [Fact]
    public void ParametersTheKernelDoesNotTakeGetTorchSharpsUpdateBitForBit()
    {
        var (mine, grads) = Make(6, ScalarType.Float64);
        var (theirs, _) = Make(6, ScalarType.Float64);
        using var fused = new FusedAdam(mine, 1e-2, 0.5, 0.99, 1e-8, 0.01);
        using var reference = optim.Adam(theirs, 1e-2, 0.5, 0.99, 1e-8, 0.01);
        Run(fused, mine, grads);
        Run(reference, theirs, grads);
        for (int i = 0; i < mine.Count; i++) Assert.True(mine[i].eq(theirs[i]).all().item<bool>(), $"parameter {i}");
    }

    [Fact]
    public void TheSplitBetweenThreadsChangesNoBit()
    {
        var (a, grads) = Make(7);
        var (b, _) = Make(7);
        using var two = new FusedAdam(a, 1e-3, 0.0, 0.9);
        using var one = new FusedAdam(b, 1e-3, 0.0, 0.9);
        Run(two, a, grads);
        int threads = get_num_threads();
        try
        {
            set_num_threads(1);
            Run(one, b, grads);
        }
        finally { set_num_threads(threads); }
        for (int i = 0; i < a.Count; i++) Assert.True(a[i].eq(b[i]).all().item<bool>(), $"parameter {i}");
    }
}
