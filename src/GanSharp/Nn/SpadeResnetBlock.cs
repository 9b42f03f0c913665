using GanSharp.Kernels;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GanSharp.Nn;

/// <summary>
/// The residual block of SPADE: dx = conv_1(lrelu(norm_1(conv_0(lrelu(norm_0(x, seg)))))), with a learned
/// 1x1 shortcut conv_s(norm_s(x, seg)) (no bias, no activation) when the channel count changes.
/// </summary>
public sealed class SpadeResnetBlock : nn.Module<Tensor, Tensor, Tensor>
{
    private const double Slope = 0.2;

    private readonly nn.Module<Tensor, Tensor> conv_0;
    private readonly nn.Module<Tensor, Tensor> conv_1;
    private readonly nn.Module<Tensor, Tensor>? conv_s;
    private readonly SpadeNorm norm_0;
    private readonly SpadeNorm norm_1;
    private readonly SpadeNorm? norm_s;

    /// <param name="fin">Input channels.</param>
    /// <param name="fout">Output channels.</param>
    /// <param name="spec">The parsed norm_G (spectral on all three convs when it says so).</param>
    /// <param name="semanticNc">Channels of the label map.</param>
    /// <param name="device">Where to allocate.</param>
    public SpadeResnetBlock(long fin, long fout, SpadeNormSpec spec, long semanticNc, Device? device = null)
        : base(nameof(SpadeResnetBlock))
    {
        LearnedShortcut = fin != fout;
        long fmiddle = Math.Min(fin, fout);
        conv_0 = Conv(fin, fmiddle, 3, 1, bias: true, spec.Spectral, device);
        conv_1 = Conv(fmiddle, fout, 3, 1, bias: true, spec.Spectral, device);
        if (LearnedShortcut)
            conv_s = Conv(fin, fout, 1, 0, bias: false, spec.Spectral, device);
        // As the reference: the three convs are built, then spectral-normalised (u, v drawn) in turn.
        foreach (var conv in new[] { conv_0, conv_1, conv_s }.OfType<SpectralNormConv2d>()) conv.DrawVectors();
        norm_0 = new SpadeNorm(spec, fin, semanticNc, device);
        norm_1 = new SpadeNorm(spec, fmiddle, semanticNc, device);
        if (LearnedShortcut)
            norm_s = new SpadeNorm(spec, fin, semanticNc, device);
        RegisterComponents();
    }

    public bool LearnedShortcut { get; }

    /// <param name="x">[N, fin, H, W].</param>
    /// <param name="seg">[N, semantic_nc, h, w]; pass it already resized to H x W to avoid one resize per SPADE layer.</param>
    /// <returns>[N, fout, H, W].</returns>
    public override Tensor forward(Tensor x, Tensor seg)
    {
        using var scope = NewDisposeScope();
        if (!SpadeNorm.SameSpatialSize(seg, x))
            seg = SpadeNorm.ResizeNearest(seg, x.shape[2], x.shape[3]);
        var xs = LearnedShortcut ? Convolve(conv_s!, norm_s!.call(x, seg)) : x;
        // In place on the SPADE output, which nothing else keeps: leaky ReLU's backward needs only its result.
        var dx = Convolve(conv_0, F.leaky_relu(norm_0.call(x, seg), Slope, inplace: true));
        dx = Convolve(conv_1, F.leaky_relu(norm_1.call(dx, seg), Slope, inplace: true));
        return xs.add(dx).MoveToOuterDisposeScope();
    }

    // The generator never needs a double backward, so its convolutions may take the GEMM path.
    private static Tensor Convolve(nn.Module<Tensor, Tensor> conv, Tensor x) => conv switch
    {
        TorchSharp.Modules.Conv2d plain => GemmConvolution.Conv2d(x, plain.weight!, plain.bias, plain.weight!.shape[2] / 2),
        _ => conv.call(x),
    };

    private static nn.Module<Tensor, Tensor> Conv(long cin, long cout, long k, long pad, bool bias, bool spectral, Device? device) =>
        spectral
            ? new SpectralNormConv2d(cin, cout, k, padding: pad, bias: bias, device: device, drawVectorsLater: true) { SingleBackwardGemm = true }
            : nn.Conv2d(cin, cout, k, padding: pad, bias: bias, device: device);
}
