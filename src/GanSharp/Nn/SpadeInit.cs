using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanSharp.Nn;

/// <summary>The reference's <c>BaseNetwork.init_weights('xavier', gain)</c>.</summary>
public static class SpadeInit
{
    /// <summary>
    /// Conv and Linear weights (including spectral-normed weight_orig: the reference's init writes through
    /// the plain <c>weight</c> attribute, which shares storage with weight_orig) get xavier_normal(gain), biases 0;
    /// affine BatchNorm weights N(1, gain), biases 0. Spectral-norm u/v and running statistics are left alone.
    /// </summary>
    public static void XavierNormal(nn.Module module, double gain)
    {
        using var _ = no_grad();
        foreach (var m in module.modules().Prepend(module)) {
            switch (m) {
            case Conv2d c:
                nn.init.xavier_normal_(c.weight!, gain);
                if (c.bias is not null) nn.init.zeros_(c.bias);
                break;
            case Linear l:
                nn.init.xavier_normal_(l.weight!, gain);
                if (l.bias is not null) nn.init.zeros_(l.bias);
                break;
            case SpectralNormConv2d sc:
                nn.init.xavier_normal_(sc.WeightOrig, gain);
                if (sc.Bias is not null) nn.init.zeros_(sc.Bias);
                break;
            case SpectralNormLinear sl:
                nn.init.xavier_normal_(sl.WeightOrig, gain);
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
}
