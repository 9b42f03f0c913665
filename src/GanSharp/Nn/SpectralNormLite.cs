using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanSharp.Nn;

/// <summary>
/// Spectral normalisation (Miyato et al. 2018) for the families' Linear, Conv2d and ConvTranspose2d layers: the
/// layer runs with W/σ(W), σ estimated by one power iteration per training forward (none in eval). This is a
/// small family-level version; the SPADE networks use the reference-compatible SpectralNorm of their own.
/// The wrapped layer's <c>weight</c> stays its parameter, so optimizers and checkpoints see it unchanged.
/// </summary>
internal sealed class SpectralNormLite : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> module;
    private readonly Tensor weight_u;
    private readonly int _outDim;

    /// <summary>Wraps a Linear, Conv2d or ConvTranspose2d.</summary>
    public SpectralNormLite(nn.Module<Tensor, Tensor> layer) : base(nameof(SpectralNormLite))
    {
        module = layer;
        // ConvTranspose2d stores [in, out, kH, kW]: its output dimension is 1.
        _outDim = layer is ConvTranspose2d ? 1 : 0;
        var w = Weight;
        weight_u = nn.functional.normalize(randn(w.shape[_outDim]), dim: 0);
        RegisterComponents();
    }

    private Parameter Weight => module switch
    {
        Linear l => l.weight!,
        Conv2d c => c.weight!,
        ConvTranspose2d t => t.weight!,
        _ => throw new InvalidOperationException($"spectral norm supports Linear, Conv2d and ConvTranspose2d, not {module.GetType().Name}"),
    };

    /// <summary>The current estimate of the largest singular value (no power iteration).</summary>
    public Tensor Sigma()
    {
        using var scope = NewDisposeScope();
        var mat = Matrix(Weight);
        var v = nn.functional.normalize(mat.t().mv(weight_u), dim: 0);
        return weight_u.dot(mat.mv(v)).MoveToOuterDisposeScope();
    }

    private Tensor Matrix(Tensor w) => w.transpose(0, _outDim).reshape(w.shape[_outDim], -1);

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var w = Weight;
        var mat = Matrix(w);
        if (training)
        {
            using var _ = no_grad();
            var v = nn.functional.normalize(mat.t().mv(weight_u), dim: 0);
            weight_u.copy_(nn.functional.normalize(mat.mv(v), dim: 0));
        }
        var vv = nn.functional.normalize(mat.t().mv(weight_u), dim: 0).detach();
        var sigma = weight_u.dot(mat.mv(vv));
        var wn = w / sigma;
        Tensor y = module switch
        {
            Linear l => nn.functional.linear(x, wn, l.bias),
            Conv2d c => nn.functional.conv2d(x, wn, c.bias, c.stride, c.padding, c.dilation, c.groups),
            ConvTranspose2d t => nn.functional.conv_transpose2d(x, wn, t.bias, t.stride, t.padding, t.output_padding, t.dilation, t.groups),
            _ => throw new InvalidOperationException("unsupported layer"),
        };
        return y.MoveToOuterDisposeScope();
    }
}

/// <summary>Layer factories that apply spectral norm when asked, so networks build with or without it from one switch.</summary>
internal static class Layers
{
    public static nn.Module<Tensor, Tensor> Linear(long inputs, long outputs, bool sn) => Wrap(nn.Linear(inputs, outputs), sn);

    public static nn.Module<Tensor, Tensor> Conv(long cin, long cout, long k, long stride, long pad, bool sn, bool bias = true) =>
        Wrap(nn.Conv2d(cin, cout, k, stride, pad, bias: bias), sn);

    public static nn.Module<Tensor, Tensor> ConvT(long cin, long cout, long k, long stride, long pad, bool sn, bool bias = true) =>
        Wrap(nn.ConvTranspose2d(cin, cout, k, stride, pad, bias: bias), sn);

    private static nn.Module<Tensor, Tensor> Wrap(nn.Module<Tensor, Tensor> layer, bool sn) => sn ? new SpectralNormLite(layer) : layer;
}
