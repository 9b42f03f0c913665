using GanSharp.Distributed;
using GanSharp.Kernels;
using GanSharp.Nn;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GanSharp.Models.Spade;

/// <summary>
/// The SPADE generator: from the label map downsampled to the latent grid (or from Linear(z) with the VAE),
/// SPADE residual blocks with x2 nearest upsampling, then LeakyReLU, conv_img and tanh.
/// </summary>
public sealed class SpadeGenerator : nn.Module<Tensor, Tensor?, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> fc;
    private readonly SpadeResnetBlock head_0;
    private readonly SpadeResnetBlock G_middle_0;
    private readonly SpadeResnetBlock G_middle_1;
    private readonly SpadeResnetBlock up_0;
    private readonly SpadeResnetBlock up_1;
    private readonly SpadeResnetBlock up_2;
    private readonly SpadeResnetBlock up_3;
    private readonly SpadeResnetBlock? up_4;
    private readonly nn.Module<Tensor, Tensor> conv_img;

    private readonly SpadeModelOptions opt;
    private readonly int sw;
    private readonly int sh;

    public SpadeGenerator(SpadeModelOptions options, Device? device = null) : base(nameof(SpadeGenerator))
    {
        opt = options.Validate();
        var spec = SpadeNormSpec.Parse(opt.NormG);
        long nf = opt.Ngf;
        long snc = opt.SemanticNc;
        (sw, sh) = opt.LatentSize;

        fc = opt.UseVae
            ? nn.Linear(opt.ZDim, 16 * nf * sw * sh, device: device)
            : nn.Conv2d(snc, 16 * nf, 3, padding: 1, device: device);
        head_0 = new SpadeResnetBlock(16 * nf, 16 * nf, spec, snc, device);
        G_middle_0 = new SpadeResnetBlock(16 * nf, 16 * nf, spec, snc, device);
        G_middle_1 = new SpadeResnetBlock(16 * nf, 16 * nf, spec, snc, device);
        up_0 = new SpadeResnetBlock(16 * nf, 8 * nf, spec, snc, device);
        up_1 = new SpadeResnetBlock(8 * nf, 4 * nf, spec, snc, device);
        up_2 = new SpadeResnetBlock(4 * nf, 2 * nf, spec, snc, device);
        up_3 = new SpadeResnetBlock(2 * nf, 1 * nf, spec, snc, device);
        long finalNc = nf;
        if (opt.NumUpsamplingLayers == NumUpsamplingLayers.Most)
        {
            up_4 = new SpadeResnetBlock(nf, nf / 2, spec, snc, device);
            finalNc = nf / 2;
        }
        conv_img = nn.Conv2d(finalNc, 3, 3, padding: 1, device: device);
        RegisterComponents();
    }

    public SpadeModelOptions Options => opt;

    /// <summary>When set, each forward keeps a detached copy of conv_img's output (before tanh) in <see cref="LastPreTanh"/>.</summary>
    public bool CapturePreTanh { get; set; }

    /// <summary>conv_img's output of the last forward, if <see cref="CapturePreTanh"/> was set. Owned by the generator.</summary>
    public Tensor? LastPreTanh { get; private set; }

    /// <summary>The SPADE residual blocks in forward order.</summary>
    public IEnumerable<SpadeResnetBlock> Blocks =>
        new[] { head_0, G_middle_0, G_middle_1, up_0, up_1, up_2, up_3, up_4 }.OfType<SpadeResnetBlock>();

    /// <param name="seg">[N, semantic_nc, H, W] one-hot label map (+ edges), H x W = <see cref="SpadeModelOptions.OutputSize"/>.</param>
    /// <param name="z">[N, z_dim] with the VAE; drawn from N(0, 1) when null. Must be null without the VAE.</param>
    /// <returns>[N, 3, H, W] in [-1, 1].</returns>
    public override Tensor forward(Tensor seg, Tensor? z)
    {
        var (oh, ow) = opt.OutputSize;
        if (seg.ndim != 4 || seg.shape[1] != opt.SemanticNc || seg.shape[2] != oh || seg.shape[3] != ow)
            throw new GanSharpException(ErrorKind.Usage,
                $"The generator expects a label map of shape [N, {opt.SemanticNc}, {oh}, {ow}] (semantic_nc, crop size and aspect ratio of its " +
                    $"options), got [{string.Join(", ", seg.shape)}].");
        if (z is not null && !opt.UseVae)
            throw new GanSharpException(ErrorKind.Usage, "A latent z was given to a generator built without use_vae.");

        using var scope = NewDisposeScope();
        using var columns = GemmConvolution.ShareUnfolds();
        // One nearest resize of the label map per resolution, shared by every SPADE layer at that resolution
        // (the reference resizes in each of the ~20 SPADE layers; the result is identical).
        var segAt = new Dictionary<long, Tensor>();
        Tensor SegFor(Tensor x)
        {
            long key = x.shape[2] * 100_000 + x.shape[3];
            if (!segAt.TryGetValue(key, out var s))
            {
                s = SpadeNorm.SameSpatialSize(seg, x) ? seg : SpadeNorm.ResizeNearest(seg, x.shape[2], x.shape[3]);
                segAt[key] = s;
            }
            return s;
        }

        Tensor x;
        if (opt.UseVae)
        {
            z ??= randn(seg.shape[0], opt.ZDim, device: seg.device);
            x = fc.call(z).view(-1, 16 * opt.Ngf, sh, sw); // [N, 16 ngf, sh, sw]
        }
        else
        {
            x = fc.call(SpadeNorm.ResizeNearest(seg, sh, sw)); // [N, 16 ngf, sh, sw]
        }

        // Each block's output is marked for data-parallel training: the allreduce of the blocks' gradients can start as
        // soon as the backward is past them (Distributed.BackwardProgress; without mpirun the marks do nothing).
        x = Block(head_0, x);
        x = Up(x);
        x = Block(G_middle_0, x);
        if (opt.NumUpsamplingLayers != NumUpsamplingLayers.Normal)
            x = Up(x);
        x = Block(G_middle_1, x);
        foreach (var block in new[] { up_0, up_1, up_2, up_3 })
        {
            x = Up(x);
            x = Block(block, x);
        }
        if (up_4 is not null)
        {
            x = Up(x);
            x = Block(up_4, x);
        }
        Tensor Block(SpadeResnetBlock block, Tensor input) => BackwardProgress.Mark(block.call(input, SegFor(input)), block);

        var img = (TorchSharp.Modules.Conv2d)conv_img;
        x = GemmConvolution.Conv2d(F.leaky_relu(x, 0.2), img.weight!, img.bias, 1); // [N, 3, H, W]
        if (CapturePreTanh)
        {
            LastPreTanh?.Dispose();
            LastPreTanh = x.detach().clone().DetachFromDisposeScope();
        }
        return x.tanh().MoveToOuterDisposeScope();
    }

    // nn.Upsample(scale_factor=2), legacy nearest.
    private static Tensor Up(Tensor x) =>
        F.interpolate(x, size: new[] { x.shape[2] * 2, x.shape[3] * 2 }, mode: InterpolationMode.Nearest);

    protected override void Dispose(bool disposing)
    {
        if (disposing) LastPreTanh?.Dispose();
        base.Dispose(disposing);
    }
}
