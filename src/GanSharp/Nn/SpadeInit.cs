using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanSharp.Nn;

/// <summary>The reference's <c>BaseNetwork.init_weights('xavier', gain)</c>.</summary>
internal static class SpadeInit
{
    /// <summary>
    /// Conv and Linear weights (including spectral-normed weight_orig: the reference's init writes through
    /// the plain <c>weight</c> attribute, which shares storage with weight_orig) get xavier_normal(gain), biases 0;
    /// affine BatchNorm weights N(1, gain), biases 0. Spectral-norm u/v and running statistics are left alone.
    /// </summary>
    public static void XavierNormal(nn.Module module, double gain)
    {
        using var _ = no_grad();
        foreach (var m in DepthFirst(module))
        {
            switch (m)
            {
                case Conv2d c:
                    XavierNormal(c.weight!, gain);
                    if (c.bias is not null) nn.init.zeros_(c.bias);
                    break;
                case Linear l:
                    XavierNormal(l.weight!, gain);
                    if (l.bias is not null) nn.init.zeros_(l.bias);
                    break;
                case SpectralNormConv2d sc:
                    XavierNormal(sc.WeightOrig, gain);
                    if (sc.Bias is not null) nn.init.zeros_(sc.Bias);
                    break;
                case SpectralNormLinear sl:
                    XavierNormal(sl.WeightOrig, gain);
                    if (sl.Bias is not null) nn.init.zeros_(sl.Bias);
                    break;
                case BatchNorm2d bn when bn.affine:
                    nn.init.normal_(bn.weight, 1.0, gain);
                    nn.init.zeros_(bn.bias!);
                    break;
                case ParamFreeNorm { Weight: { } w, Bias: { } b }:
                    nn.init.normal_(w, 1.0, gain);
                    nn.init.zeros_(b);
                    break;
            }
        }
    }

    // The order of PyTorch's Module.apply (each child's subtree in registration order), which draws the weights;
    // TorchSharp's modules() goes level by level.
    private static IEnumerable<nn.Module> DepthFirst(nn.Module m)
    {
        yield return m;
        foreach (var child in m.children())
            foreach (var d in DepthFirst(child))
                yield return d;
    }

    /// <summary>
    /// PyTorch's Python <c>init.xavier_normal_</c>: one <c>normal_(0, gain·√(2 / (fan_in + fan_out)))</c>. Written out
    /// because libtorch's C++ xavier_normal_ (what TorchSharp calls) draws other numbers from the same seed, and with
    /// this one a seeded build equals the reference's weights.
    /// </summary>
    private static void XavierNormal(Tensor weight, double gain)
    {
        long receptive = weight.shape.Skip(2).Aggregate(1L, (a, b) => a * b);
        long fanIn = weight.shape[1] * receptive, fanOut = weight.shape[0] * receptive;
        weight.normal_(0, gain * Math.Sqrt(2.0 / (fanIn + fanOut)));
    }
}
