using System.Text.RegularExpressions;
using GanSharp.Kernels;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GanSharp.Nn;

/// <summary>A parsed SPADE norm string such as <c>spadesyncbatch3x3</c> (an optional <c>spectral</c> prefix is allowed).</summary>
public sealed record SpadeNormSpec(bool Spectral, ParamFreeNormKind ParamFree, int KernelSize)
{
    private static readonly Regex Pattern = new(@"^(spectral)?spade(instance|syncbatch|batch)(\d)x\d$", RegexOptions.CultureInvariant);

    /// <summary>Parses the reference's norm_G syntax: [spectral]spade(instance|batch|syncbatch)(k)x(k).</summary>
    public static SpadeNormSpec Parse(string text)
    {
        var m = Pattern.Match(text);
        if (!m.Success)
            throw new GanSharpException(ErrorKind.Usage,
                $"norm_G '{text}' is not a SPADE norm; use [spectral]spade(instance|batch|syncbatch)<k>x<k>, e.g. spectralspadesyncbatch3x3.");
        var kind = m.Groups[2].Value switch
        {
            "instance" => ParamFreeNormKind.Instance,
            "batch" => ParamFreeNormKind.Batch,
            _ => ParamFreeNormKind.SyncBatch,
        };
        int k = m.Groups[3].Value[0] - '0';
        if (k % 2 == 0)
            throw new GanSharpException(ErrorKind.Usage, $"norm_G '{text}' has an even SPADE kernel size {k}; use an odd one such as 3x3.");
        return new SpadeNormSpec(m.Groups[1].Success, kind, k);
    }
}

/// <summary>
/// Spatially-adaptive normalisation: a parameter-free norm of x, then a per-pixel scale and shift predicted from
/// the label map: out = norm(x) * (1 + gamma(seg)) + beta(seg).
/// </summary>
internal sealed class SpadeNorm : nn.Module<Tensor, Tensor, Tensor>
{
    // Held for the process: a Scalar made per call could be finalized while libtorch reads it (see GcQuiet).
    private static readonly Scalar One = 1.0.ToScalar();

    /// <summary>Width of the shared MLP; fixed at 128 by the reference, independent of ngf.</summary>
    public const int HiddenChannels = 128;

    private readonly ParamFreeNorm param_free_norm;
    private readonly Sequential mlp_shared;
    private readonly Conv2d mlp_gamma;
    private readonly Conv2d mlp_beta;

    public SpadeNorm(SpadeNormSpec spec, long normChannels, long labelChannels, Device? device = null) : base(nameof(SpadeNorm))
    {
        long pw = spec.KernelSize / 2;
        param_free_norm = new ParamFreeNorm(spec.ParamFree, normChannels, device);
        mlp_shared = nn.Sequential(
            nn.Conv2d(labelChannels, HiddenChannels, spec.KernelSize, padding: pw, device: device),
            nn.ReLU());
        mlp_gamma = nn.Conv2d(HiddenChannels, normChannels, spec.KernelSize, padding: pw, device: device);
        mlp_beta = nn.Conv2d(HiddenChannels, normChannels, spec.KernelSize, padding: pw, device: device);
        RegisterComponents();
    }

    /// <summary>
    /// Runs gamma and beta as one convolution with the two weights stacked (fewer passes over the hidden
    /// activation). The checkpoint keys stay mlp_gamma / mlp_beta. Off by default only for A/B measurements.
    /// </summary>
    public bool FuseGammaBeta { get; set; } = true;

    /// <param name="x">[N, C, H, W] activation.</param>
    /// <param name="segmap">[N, label_nc, h, w] label map; resized (legacy nearest) to H x W unless it already is.</param>
    public override Tensor forward(Tensor x, Tensor segmap)
    {
        using var scope = NewDisposeScope();
        var normalized = param_free_norm.call(x);
        var seg = SameSpatialSize(segmap, x) ? segmap : ResizeNearest(segmap, x.shape[2], x.shape[3]);
        var shared = (Conv2d)mlp_shared[0];
        // The label map is the same tensor for every SPADE layer at this resolution (SpadeGenerator), so its unfolded
        // copy is shared.
        var actv = F.relu(GemmConvolution.Conv2d(seg, shared.weight!, shared.bias, shared.weight!.shape[2] / 2, shareInput: true)); // [N, 128, H, W]
        Tensor gamma, beta;
        if (FuseGammaBeta)
        {
            var w = WeightForms.Get(mlp_gamma.weight!, WeightForms.Form.StackedWeight, () => cat(new[] { mlp_gamma.weight!, mlp_beta.weight! }, 0));
            var b = WeightForms.Get(mlp_gamma.bias!, WeightForms.Form.StackedBias, () => cat(new[] { mlp_gamma.bias!, mlp_beta.bias! }, 0));
            long p = mlp_gamma.weight!.shape[2] / 2;
            var both = GemmConvolution.Conv2d(actv, w, b, p); // [N, 2C, H, W]
            var parts = both.chunk(2, 1);
            gamma = parts[0];
            beta = parts[1];
        }
        else
        {
            long p = mlp_gamma.weight!.shape[2] / 2;
            gamma = GemmConvolution.Conv2d(actv, mlp_gamma.weight!, mlp_gamma.bias, p);
            beta = GemmConvolution.Conv2d(actv, mlp_beta.weight!, mlp_beta.bias, p);
        }
        // normalized·(1 + γ) + β as (normalized + β) + normalized·γ: one pass and one full-size tensor fewer in the
        // forward, and backward keeps γ (a view of the convolution output) instead of a separate 1 + γ.
        return normalized.add(beta).addcmul_(normalized, gamma, One).MoveToOuterDisposeScope();
    }

    internal static bool SameSpatialSize(Tensor a, Tensor b) => a.shape[2] == b.shape[2] && a.shape[3] == b.shape[3];

    /// <summary>PyTorch's legacy nearest resize (F.interpolate default mode), as the reference resizes label maps.</summary>
    public static Tensor ResizeNearest(Tensor x, long height, long width) =>
        F.interpolate(x, size: new[] { height, width }, mode: InterpolationMode.Nearest);
}
