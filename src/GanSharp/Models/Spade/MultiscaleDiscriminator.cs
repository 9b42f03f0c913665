using GanSharp.Distributed;
using GanSharp.Kernels;
using GanSharp.Nn;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GanSharp.Models.Spade;

/// <summary>
/// PatchGAN discriminator: 4x4 convs with padding 2, LeakyReLU(0.2); the first conv has no norm, the next
/// n_layers_D - 1 are normed (stride 2, the last of them stride 1), then a stride-1 conv to one channel.
/// Each group is a child Sequential <c>model{n}</c>, so keys read <c>model1.0.0.weight_orig</c> like the reference.
/// </summary>
public sealed class NLayerDiscriminator : nn.Module<Tensor, Tensor[]>
{
    private const long Kernel = 4;
    private const long Padding = 2; // ceil((4 - 1) / 2)

    // The number of groups depends on n_layers_D, so they are registered by name rather than as fields.
    private readonly List<Sequential> groups = new();

    public NLayerDiscriminator(SpadeModelOptions opt, Device? device = null) : base(nameof(NLayerDiscriminator))
    {
        var norm = NonSpadeNormSpec.Parse(opt.NormD, "norm_D");
        long nf = opt.Ndf;
        long inputNc = opt.SemanticNc + opt.OutputNc;
        groups.Add(nn.Sequential(
            nn.Conv2d(inputNc, nf, Kernel, stride: 2, padding: Padding, device: device),
            nn.LeakyReLU(0.2)));
        for (int n = 1; n < opt.NLayersD; n++)
        {
            long prev = nf;
            nf = Math.Min(nf * 2, 512);
            long stride = n == opt.NLayersD - 1 ? 1 : 2;
            groups.Add(nn.Sequential(norm.Conv2d(prev, nf, Kernel, stride, Padding, device), nn.LeakyReLU(0.2)));
        }
        groups.Add(nn.Sequential(nn.Conv2d(nf, 1, Kernel, stride: 1, padding: Padding, device: device)));
        for (int n = 0; n < groups.Count; n++)
            register_module($"model{n}", groups[n]);
        RegisterComponents();
    }

    /// <summary>
    /// Sends the final one-channel convolution through <see cref="GemmConvolution"/> too (its stride-1 path reads the
    /// 512-channel input once per tap instead of unfolding it into 16 copies). Set by
    /// <see cref="MultiscaleDiscriminator.SingleBackwardGemm"/>.
    /// </summary>
    internal bool FinalConvOnGemm { get; set; }

    /// <returns>The output of every group: n_layers_D features after LeakyReLU, then the [N, 1, h, w] prediction.</returns>
    public override Tensor[] forward(Tensor input)
    {
        var outputs = new Tensor[groups.Count];
        var x = input;
        for (int n = 0; n < groups.Count; n++)
        {
            x = n == groups.Count - 1 && FinalConvOnGemm && groups[n][0] is Conv2d final && GemmConvolution.Eligible(x, final.weight!)
                ? GemmConvolution.Conv2d(x, final.weight!, final.bias, 1, Padding)
                : groups[n].call(x);
            // For data-parallel training: the allreduce of this group's gradients may start once the backward is past it.
            x = BackwardProgress.Mark(x, groups[n]);
            outputs[n] = x;
        }
        return outputs;
    }
}

/// <summary>
/// num_D PatchGAN discriminators (<c>discriminator_0</c> ...), each on the input downsampled once more by
/// avg_pool2d(3, stride 2, pad 1, count_include_pad = false).
/// </summary>
public sealed class MultiscaleDiscriminator : nn.Module<Tensor, Tensor[][]>
{
    private readonly List<NLayerDiscriminator> scales = new();
    private readonly bool intermediate;

    public MultiscaleDiscriminator(SpadeModelOptions options, Device? device = null) : base(nameof(MultiscaleDiscriminator))
    {
        var opt = options.Validate();
        intermediate = !opt.NoGanFeatLoss;
        for (int i = 0; i < opt.NumD; i++)
        {
            var d = new NLayerDiscriminator(opt, device);
            scales.Add(d);
            register_module($"discriminator_{i}", d);
        }
        RegisterComponents();
    }

    /// <summary>The per-scale discriminators, finest first (discriminator_0, ...).</summary>
    public IReadOnlyList<NLayerDiscriminator> Discriminators => scales;

    /// <summary>
    /// Sends the spectral-normed convolutions through <see cref="GemmConvolution"/> (4x4 stride-2 layers unfold
    /// into one oneDNN GEMM each). That path has no double backward: turn it off before a gradient penalty.
    /// </summary>
    public bool SingleBackwardGemm
    {
        set
        {
            foreach (var m in modules().OfType<SpectralNormConv2d>()) m.SingleBackwardGemm = value;
            foreach (var d in scales) d.FinalConvOnGemm = value;
        }
    }

    /// <returns>
    /// Per scale (finest first): all group outputs when feature matching is on, else only the final prediction.
    /// The prediction is always the last element.
    /// </returns>
    public override Tensor[][] forward(Tensor input)
    {
        var result = new Tensor[scales.Count][];
        var x = input;
        for (int i = 0; i < scales.Count; i++)
        {
            var outs = scales[i].call(x);
            if (!intermediate)
            {
                for (int j = 0; j < outs.Length - 1; j++) outs[j].Dispose();
                outs = new[] { outs[^1] };
            }
            result[i] = outs;
            // The reference also downsamples after the coarsest scale; skipping that changes no output.
            if (i + 1 < scales.Count)
            {
                var next = F.avg_pool2d(x, new long[] { 3, 3 }, new long[] { 2, 2 }, new long[] { 1, 1 }, count_include_pad: false);
                if (!ReferenceEquals(x, input)) x.Dispose();
                x = next;
            }
        }
        if (!ReferenceEquals(x, input)) x.Dispose();
        return result;
    }
}
