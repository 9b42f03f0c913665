using GanSharp.Nn;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanSharp.Models.ProGan;

/// <summary>
/// Convolution with the equalized learning rate of ProGAN: weights drawn from N(0, 1) and scaled at run time by
/// He's constant √(2/fan_in), so Adam's per-parameter step sizes act alike on every layer.
/// </summary>
internal sealed class EqConv2d : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter bias;
    private readonly double _scale;
    private readonly long _pad;

    public EqConv2d(long cin, long cout, long kernel) : base(nameof(EqConv2d))
    {
        weight = new Parameter(randn(cout, cin, kernel, kernel));
        bias = new Parameter(zeros(cout));
        _scale = Math.Sqrt(2.0 / (cin * kernel * kernel));
        _pad = kernel / 2;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => nn.functional.conv2d(x, weight * _scale, bias, padding: [_pad, _pad]);
}

/// <summary>Linear layer with the equalized learning rate (see <see cref="EqConv2d"/>).</summary>
internal sealed class EqLinear : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter bias;
    private readonly double _scale;

    public EqLinear(long inputs, long outputs, double gain = 2.0) : base(nameof(EqLinear))
    {
        weight = new Parameter(randn(outputs, inputs));
        bias = new Parameter(zeros(outputs));
        _scale = Math.Sqrt(gain / inputs);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => nn.functional.linear(x, weight * _scale, bias);
}

/// <summary>Pixelwise feature normalisation: each pixel's feature vector scaled to unit mean square (ProGAN's G).</summary>
internal sealed class PixelNorm : nn.Module<Tensor, Tensor>
{
    public PixelNorm() : base(nameof(PixelNorm)) => RegisterComponents();

    public override Tensor forward(Tensor x) => x * (x.pow(2).mean([1], keepdim: true) + 1e-8).rsqrt();
}

/// <summary>Nearest-neighbour ×2 upsampling (see <see cref="Common.NetParts.UpsampleNearest"/> for why not nn.Upsample).</summary>
internal sealed class Upsample2x : nn.Module<Tensor, Tensor>
{
    public Upsample2x() : base(nameof(Upsample2x)) => RegisterComponents();

    public override Tensor forward(Tensor x) => Common.NetParts.UpsampleNearest(x);
}

/// <summary>Where the growing networks stand: the current resolution and the fade-in weight α of its newest block.</summary>
internal interface IGrowing
{
    int Resolution { get; set; }

    double Alpha { get; set; }
}

/// <summary>
/// ProGAN's G up to 32×32: a 4×4 block from z, then one block per doubling (nearest upsample, two 3×3 convs, LeakyReLU,
/// pixel norm), a 1×1 toRGB per resolution. While a block fades in, the output is (1 − α)·upsampled previous toRGB
/// + α·new toRGB.
/// </summary>
internal sealed class ProGanGenerator : nn.Module<Tensor, Tensor, Tensor>, IGrowing
{
    private readonly EqLinear input;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> blocks;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> to_rgb;
    private readonly nn.Module<Tensor, Tensor>? embed;
    private readonly PixelNorm norm;
    private readonly long _channels;

    public ProGanGenerator(int zDim, int channels, int classes) : base(nameof(ProGanGenerator))
    {
        _channels = channels;
        embed = classes > 0 ? nn.Embedding(classes, zDim) : null;
        norm = new PixelNorm();
        input = new EqLinear(zDim, channels * 16, gain: 2.0 / 16);
        blocks = new ModuleList<nn.Module<Tensor, Tensor>>();
        to_rgb = new ModuleList<nn.Module<Tensor, Tensor>>();
        for (int i = 0; i < 4; i++)   // 4, 8, 16, 32
        {
            blocks.Add(i == 0
                ? nn.Sequential(new EqConv2d(channels, channels, 3), nn.LeakyReLU(0.2), new PixelNorm())
                : nn.Sequential(
                    new Upsample2x(),
                    new EqConv2d(channels, channels, 3), nn.LeakyReLU(0.2), new PixelNorm(),
                    new EqConv2d(channels, channels, 3), nn.LeakyReLU(0.2), new PixelNorm()));
            to_rgb.Add(new EqConv2d(channels, 3, 1));
        }
        RegisterComponents();
    }

    public int Resolution { get; set; } = 4;

    public double Alpha { get; set; } = 1.0;

    public override Tensor forward(Tensor z, Tensor y)
    {
        int stage = ProGanSchedule.Stage(Resolution);
        var h = nn.functional.leaky_relu(input.call(norm.call(NetPartsCondition(z, y))), 0.2).view(-1, _channels, 4, 4);
        h = norm.call(h);
        h = blocks[0].call(h);                                  // [N, C, 4, 4]
        Tensor? previous = null;
        for (int i = 1; i <= stage; i++)
        {
            previous = h;
            h = blocks[i].call(h);                              // [N, C, 4·2^i, 4·2^i]
        }
        var rgb = to_rgb[stage].call(h);
        if (previous is null || Alpha >= 1) return rgb;
        var skip = Common.NetParts.UpsampleNearest(to_rgb[stage - 1].call(previous));
        return skip + (rgb - skip) * Alpha;
    }

    private Tensor NetPartsCondition(Tensor z, Tensor y) => Common.NetParts.Condition(z, y, embed);
}

/// <summary>
/// ProGAN's D, the mirror of <see cref="ProGanGenerator"/>: fromRGB (1×1) at the input resolution, blocks of two
/// 3×3 convs and average pooling down to 4×4, then minibatch std, a 3×3 conv and two dense layers. While a block
/// fades in, its input mixes with fromRGB of the half-resolution image, weighted by α.
/// </summary>
internal sealed class ProGanDiscriminator : nn.Module<Tensor, Tensor>, IGrowing
{
    private readonly ModuleList<nn.Module<Tensor, Tensor>> from_rgb;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> blocks;
    private readonly MinibatchStdDev mbstd;
    private readonly EqConv2d final_conv;
    private readonly EqLinear final_dense;
    private readonly EqLinear head;

    public ProGanDiscriminator(int channels, int classes) : base(nameof(ProGanDiscriminator))
    {
        from_rgb = new ModuleList<nn.Module<Tensor, Tensor>>();
        blocks = new ModuleList<nn.Module<Tensor, Tensor>>();
        for (int i = 0; i < 4; i++)
        {
            from_rgb.Add(nn.Sequential(new EqConv2d(3, channels, 1), nn.LeakyReLU(0.2)));
            // Block i takes resolution 4·2^i to half of it; block 0 (4×4) is the final block below.
            blocks.Add(i == 0
                ? nn.Identity()
                : nn.Sequential(
                    new EqConv2d(channels, channels, 3), nn.LeakyReLU(0.2),
                    new EqConv2d(channels, channels, 3), nn.LeakyReLU(0.2),
                    nn.AvgPool2d(2)));
        }
        mbstd = new MinibatchStdDev();
        final_conv = new EqConv2d(channels + 1, channels, 3);
        final_dense = new EqLinear(channels * 16, channels);
        head = new EqLinear(channels, 1 + classes, gain: 1.0);
        RegisterComponents();
    }

    public int Resolution { get; set; } = 4;

    public double Alpha { get; set; } = 1.0;

    /// <summary>[N, 3, R, R] at the current resolution → [N, 1 + classes].</summary>
    public override Tensor forward(Tensor x)
    {
        int stage = ProGanSchedule.Stage((int)x.shape[2]);
        var h = from_rgb[stage].call(x);
        if (stage > 0)
        {
            h = blocks[stage].call(h);                          // halves the resolution
            if (Alpha < 1)
            {
                var skip = from_rgb[stage - 1].call(nn.functional.avg_pool2d(x, 2));
                h = skip + (h - skip) * Alpha;
            }
            for (int i = stage - 1; i >= 1; i--) h = blocks[i].call(h);
        }
        h = mbstd.call(h);                                      // [N, C+1, 4, 4]
        h = nn.functional.leaky_relu(final_conv.call(h), 0.2);
        h = nn.functional.leaky_relu(final_dense.call(h.flatten(1)), 0.2);
        return head.call(h);
    }
}

/// <summary>
/// ProGAN's schedule in images: the start resolution is trained for one phase, then every doubling fades in for one
/// phase (α from 0 to 1) and is stabilised for one phase, up to 32×32.
/// </summary>
internal static class ProGanSchedule
{
    /// <summary>Index of a resolution: 4 → 0, 8 → 1, 16 → 2, 32 → 3.</summary>
    public static int Stage(int resolution) => resolution switch
    {
        4 => 0,
        8 => 1,
        16 => 2,
        32 => 3,
        _ => throw new ArgumentOutOfRangeException(nameof(resolution), resolution, "ProGAN resolutions are 4, 8, 16, 32"),
    };

    /// <summary>Resolution and α after <paramref name="images"/> images.</summary>
    public static (int Resolution, double Alpha) At(long images, long phaseImages, int startResolution)
    {
        long phase = images / phaseImages;
        int doublings = 3 - Stage(startResolution);
        if (phase == 0) return (startResolution, 1.0);
        long growth = (phase - 1) / 2;                 // doublings completed before this phase
        if (growth >= doublings) return (32, 1.0);
        int res = startResolution << (int)(growth + 1);
        bool fading = (phase - 1) % 2 == 0;
        double alpha = fading ? (double)(images - phase * phaseImages) / phaseImages : 1.0;
        return (res, alpha);
    }
}
