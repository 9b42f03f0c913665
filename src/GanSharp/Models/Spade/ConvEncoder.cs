using GanSharp.Nn;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GanSharp.Models.Spade;

/// <summary>
/// The VAE image encoder: 3x3 stride-2 convs (ngf, 2, 4, 8, 8[, 8] x ngf), each with norm_E, LeakyReLU(0.2)
/// between them, then fc_mu and fc_var from the 4x4 grid to z_dim.
/// </summary>
/// <remarks>
/// The reference always resizes the image to 256x256 but drops layer6 below crop 256, so its last grid is 8x8 and
/// fc_mu (which expects 4x4) fails. Here the keys stay the reference's (layer6 only when crop &gt;= 256) and the input
/// is resized to 4 * 2^convs: 256x256 with six convs (exactly the reference), 128x128 with five, so the grid is 4x4
/// at every crop size.
/// </remarks>
public sealed class ConvEncoder : nn.Module<Tensor, (Tensor Mu, Tensor LogVar)>
{
    private const long GridSize = 4;

    private readonly nn.Module<Tensor, Tensor> layer1;
    private readonly nn.Module<Tensor, Tensor> layer2;
    private readonly nn.Module<Tensor, Tensor> layer3;
    private readonly nn.Module<Tensor, Tensor> layer4;
    private readonly nn.Module<Tensor, Tensor> layer5;
    private readonly nn.Module<Tensor, Tensor>? layer6;
    private readonly nn.Module<Tensor, Tensor> fc_mu;
    private readonly nn.Module<Tensor, Tensor> fc_var;

    private readonly long inputSize;

    public ConvEncoder(SpadeModelOptions options, Device? device = null) : base(nameof(ConvEncoder))
    {
        var opt = options.Validate();
        var norm = NonSpadeNormSpec.Parse(opt.NormE, "norm_E");
        long ndf = opt.Ngf;
        layer1 = norm.Conv2d(3, ndf, 3, 2, 1, device);
        layer2 = norm.Conv2d(ndf, ndf * 2, 3, 2, 1, device);
        layer3 = norm.Conv2d(ndf * 2, ndf * 4, 3, 2, 1, device);
        layer4 = norm.Conv2d(ndf * 4, ndf * 8, 3, 2, 1, device);
        layer5 = norm.Conv2d(ndf * 8, ndf * 8, 3, 2, 1, device);
        int convs = 5;
        if (opt.CropSize >= 256)
        {
            layer6 = norm.Conv2d(ndf * 8, ndf * 8, 3, 2, 1, device);
            convs = 6;
        }
        inputSize = GridSize << convs;
        // The encoder is differentiated once (KLD and the generator's losses), so its convolutions may take the GEMM path.
        foreach (var conv in new[] { layer1, layer2, layer3, layer4, layer5, layer6 }.SelectMany(l => l is null ? []
            : l.modules().Prepend(l).OfType<SpectralNormConv2d>().Distinct()))
            conv.SingleBackwardGemm = true;
        fc_mu = nn.Linear(ndf * 8 * GridSize * GridSize, opt.ZDim, device: device);
        fc_var = nn.Linear(ndf * 8 * GridSize * GridSize, opt.ZDim, device: device);
        RegisterComponents();
    }

    /// <summary>The square size the image is resized to (bilinear) before the first conv: 256, or 128 below crop 256.</summary>
    public long InputSize => inputSize;

    /// <param name="x">[N, 3, H, W] image in [-1, 1].</param>
    /// <returns>mu and logvar, each [N, z_dim].</returns>
    public override (Tensor Mu, Tensor LogVar) forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        if (x.shape[2] != inputSize || x.shape[3] != inputSize)
            x = F.interpolate(x, size: new[] { inputSize, inputSize }, mode: InterpolationMode.Bilinear, align_corners: false);
        x = layer1.call(x);
        x = layer2.call(F.leaky_relu(x, 0.2));
        x = layer3.call(F.leaky_relu(x, 0.2));
        x = layer4.call(F.leaky_relu(x, 0.2));
        x = layer5.call(F.leaky_relu(x, 0.2));
        if (layer6 is not null)
            x = layer6.call(F.leaky_relu(x, 0.2));
        x = F.leaky_relu(x, 0.2).view(x.shape[0], -1); // [N, 8 ngf * 4 * 4]
        var mu = fc_mu.call(x);
        var logvar = fc_var.call(x);
        return (mu.MoveToOuterDisposeScope(), logvar.MoveToOuterDisposeScope());
    }
}
