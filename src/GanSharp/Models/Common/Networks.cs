using GanSharp.Nn;
using GanSharp.Training;
using static TorchSharp.torch;

namespace GanSharp.Models.Common;

/// <summary>What the family networks are built from: sizes plus the network-level trick switches.</summary>
internal sealed record NetSpec(
    int ZDim,
    int Width,
    int Layers,
    int Classes,
    DNorm Norm,
    bool GBatchNorm,
    double GDropout,
    bool SpectralNormG,
    bool SpectralNormD,
    bool MinibatchStd);

/// <summary>Dropout that stays on in eval mode (ganhacks §17: dropout in G at train and test time).</summary>
internal sealed class AlwaysDropout : nn.Module<Tensor, Tensor>
{
    private readonly double _p;

    public AlwaysDropout(double p) : base(nameof(AlwaysDropout))
    {
        _p = p;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => nn.functional.dropout(x, _p, training: true);
}

/// <summary>Shared pieces of the family networks.</summary>
internal static class NetParts
{
    /// <summary>The normalisation layer of D for <paramref name="channels"/> features (vectors when <paramref name="maps"/> is false).</summary>
    public static nn.Module<Tensor, Tensor>? DNormLayer(DNorm norm, long channels, bool maps) => norm switch
    {
        DNorm.Batch => maps ? nn.BatchNorm2d(channels) : nn.BatchNorm1d(channels),
        DNorm.Instance => nn.InstanceNorm2d(channels, affine: true),
        // GroupNorm with one group normalises over C, H, W: layer norm that works for any spatial size.
        DNorm.Layer => maps ? GroupNorm(1, channels) : nn.LayerNorm(channels),
        DNorm.None => null,
        _ => throw new ArgumentOutOfRangeException(nameof(norm), norm, "unknown norm"),
    };

    /// <summary>
    /// nn.GroupNorm with its affine weight 1 and bias 0, as PyTorch initialises them. TorchSharp 0.107's GroupNorm
    /// leaves both uninitialised (whatever the allocator returns: measured zeros, values up to 1e36, or NaN from one
    /// construction to the next), which made wgan-gp's layer-normed image critic start from NaN or huge outputs.
    /// </summary>
    public static TorchSharp.Modules.GroupNorm GroupNorm(long groups, long channels)
    {
        var norm = nn.GroupNorm(groups, channels);
        using (no_grad())
        {
            norm.weight!.fill_(1);
            norm.bias!.fill_(0);
        }
        return norm;
    }

    /// <summary>
    /// Nearest-neighbour upsampling by an integer factor through expand + reshape. TorchSharp 0.107's
    /// interpolate/Upsample backward gave NaN gradients at random here (uninitialised memory, different per run),
    /// so the families use this instead.
    /// </summary>
    public static Tensor UpsampleNearest(Tensor x, int factor = 2)
    {
        long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
        return x.view(n, c, h, 1, w, 1).expand(n, c, h, factor, w, factor).reshape(n, c, h * factor, w * factor);   // [N, C, fH, fW]
    }

    /// <summary>z, or z times the class embedding for conditional G (AC-GAN's pytorch form).</summary>
    public static Tensor Condition(Tensor z, Tensor y, nn.Module<Tensor, Tensor>? embed) =>
        embed is null || y.numel() == 0 ? z : z * embed.call(y);
}

/// <summary>G for 2-D points: Linear+ReLU blocks (optional always-on dropout) and a linear output (the ring has radius 2: no tanh).</summary>
internal sealed class PointGenerator : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor>? embed;
    private readonly nn.Module<Tensor, Tensor> main;

    public PointGenerator(NetSpec s) : base(nameof(PointGenerator))
    {
        embed = s.Classes > 0 ? nn.Embedding(s.Classes, s.ZDim) : null;
        var mods = new List<nn.Module<Tensor, Tensor>>();
        long width = s.ZDim;
        for (int i = 0; i < s.Layers; i++)
        {
            mods.Add(Layers.Linear(width, s.Width, s.SpectralNormG));
            if (s.GBatchNorm) mods.Add(nn.BatchNorm1d(s.Width));
            mods.Add(nn.ReLU());
            if (s.GDropout > 0) mods.Add(new AlwaysDropout(s.GDropout));
            width = s.Width;
        }
        mods.Add(Layers.Linear(width, 2, s.SpectralNormG));
        main = nn.Sequential(mods);
        RegisterComponents();
    }

    public override Tensor forward(Tensor z, Tensor y) => main.call(NetParts.Condition(z, y, embed));
}

/// <summary>D for 2-D points: Linear+LeakyReLU blocks with D's norm, optional minibatch std, head of 1 + classes logits.</summary>
internal sealed class PointDiscriminator : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> main;
    private readonly nn.Module<Tensor, Tensor>? mbstd;
    private readonly nn.Module<Tensor, Tensor> head;

    public PointDiscriminator(NetSpec s) : base(nameof(PointDiscriminator))
    {
        var mods = new List<nn.Module<Tensor, Tensor>>();
        long width = 2;
        for (int i = 0; i < s.Layers; i++)
        {
            mods.Add(Layers.Linear(width, s.Width, s.SpectralNormD));
            // No norm on the input layer, as DCGAN.
            if (i > 0 && NetParts.DNormLayer(s.Norm, s.Width, maps: false) is { } norm) mods.Add(norm);
            mods.Add(nn.LeakyReLU(0.2));
            width = s.Width;
        }
        main = nn.Sequential(mods);
        mbstd = s.MinibatchStd ? new MinibatchStdDev() : null;
        head = Layers.Linear(width + (s.MinibatchStd ? 1 : 0), 1 + s.Classes, s.SpectralNormD);
        RegisterComponents();
    }

    /// <summary>[N, 2] → [N, 1 + classes]: the adversarial logit then class logits.</summary>
    public override Tensor forward(Tensor x)
    {
        var h = main.call(x);
        if (mbstd is not null) h = mbstd.call(h);
        return head.call(h);
    }
}

/// <summary>DCGAN G for 32×32: transposed convolutions 1→4→8→16→32 with BN and ReLU, tanh output in [−1, 1].</summary>
internal sealed class ConvGenerator : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor>? embed;
    private readonly nn.Module<Tensor, Tensor> main;
    private readonly long _zDim;

    public ConvGenerator(NetSpec s) : base(nameof(ConvGenerator))
    {
        _zDim = s.ZDim;
        embed = s.Classes > 0 ? nn.Embedding(s.Classes, s.ZDim) : null;
        long w = s.Width;
        var mods = new List<nn.Module<Tensor, Tensor>>();
        void Block(long cin, long cout, long k, long stride, long pad, bool dropout)
        {
            mods.Add(Layers.ConvT(cin, cout, k, stride, pad, s.SpectralNormG, bias: !s.GBatchNorm));
            if (s.GBatchNorm) mods.Add(nn.BatchNorm2d(cout));
            mods.Add(nn.ReLU());
            if (dropout && s.GDropout > 0) mods.Add(new AlwaysDropout(s.GDropout));
        }
        Block(s.ZDim, 4 * w, 4, 1, 0, dropout: false);   // [N, 4w, 4, 4]
        Block(4 * w, 2 * w, 4, 2, 1, dropout: true);     // [N, 2w, 8, 8]
        Block(2 * w, w, 4, 2, 1, dropout: true);         // [N, w, 16, 16]
        mods.Add(Layers.ConvT(w, 3, 4, 2, 1, s.SpectralNormG));
        mods.Add(nn.Tanh());                             // [N, 3, 32, 32] in [−1, 1]
        main = nn.Sequential(mods);
        RegisterComponents();
    }

    public override Tensor forward(Tensor z, Tensor y) =>
        main.call(NetParts.Condition(z, y, embed).view(-1, _zDim, 1, 1));
}

/// <summary>DCGAN D for 32×32: strided convolutions 32→16→8→4 with LeakyReLU and D's norm, then a linear head of 1 + classes logits.</summary>
internal sealed class ConvDiscriminator : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> main;
    private readonly nn.Module<Tensor, Tensor>? mbstd;
    private readonly nn.Module<Tensor, Tensor> head;

    public ConvDiscriminator(NetSpec s) : base(nameof(ConvDiscriminator))
    {
        long w = s.Width;
        var mods = new List<nn.Module<Tensor, Tensor>>
        {
            Layers.Conv(3, w, 4, 2, 1, s.SpectralNormD),   // [N, w, 16, 16]
            nn.LeakyReLU(0.2),
        };
        foreach (var (cin, cout) in new[] { (w, 2 * w), (2 * w, 4 * w) })   // → 8×8 → 4×4
        {
            mods.Add(Layers.Conv(cin, cout, 4, 2, 1, s.SpectralNormD));
            if (NetParts.DNormLayer(s.Norm, cout, maps: true) is { } norm) mods.Add(norm);
            mods.Add(nn.LeakyReLU(0.2));
        }
        main = nn.Sequential(mods);
        mbstd = s.MinibatchStd ? new MinibatchStdDev() : null;
        head = Layers.Linear((4 * w + (s.MinibatchStd ? 1 : 0)) * 16, 1 + s.Classes, s.SpectralNormD);
        RegisterComponents();
    }

    /// <summary>[N, 3, 32, 32] → [N, 1 + classes].</summary>
    public override Tensor forward(Tensor x)
    {
        var h = main.call(x);                // [N, 4w, 4, 4]
        if (mbstd is not null) h = mbstd.call(h);
        return head.call(h.flatten(1));
    }
}
