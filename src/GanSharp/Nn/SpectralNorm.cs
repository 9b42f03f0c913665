using GanSharp.Kernels;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GanSharp.Nn;

/// <summary>
/// The arithmetic of <c>torch.nn.utils.spectral_norm</c> (n_power_iterations = 1, dim = 0), shared by
/// <see cref="SpectralNormConv2d"/> and <see cref="SpectralNormLinear"/>.
/// </summary>
internal static class SpectralNorm
{
    /// <summary>The eps of PyTorch's spectral_norm, used by both normalisations of the power iteration.</summary>
    public const double Eps = 1e-12;

    /// <summary>
    /// Returns weight_orig / sigma. In training mode it first runs one power iteration that updates
    /// <paramref name="u"/> and <paramref name="v"/> in place (v = normalize(Wᵀu), u = normalize(Wv)), as PyTorch's
    /// forward pre-hook does; in eval mode u and v are used as stored. W is weight_orig reshaped to (out, -1).
    /// </summary>
    public static Tensor NormalizedWeight(Tensor weightOrig, Tensor u, Tensor v, bool training)
    {
        // Eval mode changes nothing, so frozen weights (inference) divide once.
        if (!training)
            return WeightForms.Get(weightOrig, WeightForms.Form.SpectralNormalized, () => Divided(weightOrig, u, v));
        using var scope = NewDisposeScope();
        var weightMat = weightOrig.reshape(weightOrig.shape[0], -1); // [out, in*k*k]
        using (no_grad())
        {
            var newV = F.normalize(mv(weightMat.t(), u), dim: 0, eps: Eps);
            v.copy_(newV);
            var newU = F.normalize(mv(weightMat, v), dim: 0, eps: Eps);
            u.copy_(newU);
        }
        // PyTorch clones u and v after the in-place update so that a graph built by this forward does not see
        // the next forward's update (D runs twice per iteration on the same weights before one backward).
        return Divided(weightOrig, u.clone(), v.clone()).MoveToOuterDisposeScope();
    }

    // weight_orig / (uᵀ W v).
    private static Tensor Divided(Tensor weightOrig, Tensor u, Tensor v)
    {
        using var scope = NewDisposeScope();
        var sigma = dot(u, mv(weightOrig.reshape(weightOrig.shape[0], -1), v));
        return (weightOrig / sigma).MoveToOuterDisposeScope();
    }

    /// <summary>u and v as PyTorch draws them when spectral norm is applied: normalised N(0, 1) vectors.</summary>
    internal static (Tensor u, Tensor v) InitialVectors(long height, long width, Device? device)
    {
        using var scope = NewDisposeScope();
        var u = F.normalize(randn(height, device: device), dim: 0, eps: Eps);
        var v = F.normalize(randn(width, device: device), dim: 0, eps: Eps);
        return (u.MoveToOuterDisposeScope(), v.MoveToOuterDisposeScope());
    }

    /// <summary>PyTorch's default Conv/Linear init: kaiming_uniform(a = √5) for the weight, U(±1/√fan_in) for the bias.</summary>
    internal static void DefaultInit(Tensor weight, Tensor? bias)
    {
        using var _ = no_grad();
        nn.init.kaiming_uniform_(weight, Math.Sqrt(5));
        if (bias is not null)
        {
            long fanIn = weight.shape.Skip(1).Aggregate(1L, (a, b) => a * b);
            double bound = fanIn > 0 ? 1.0 / Math.Sqrt(fanIn) : 0;
            nn.init.uniform_(bias, -bound, bound);
        }
    }
}

/// <summary>
/// A Conv2d with PyTorch's spectral_norm applied. It stands in for the conv itself, so its state_dict entries are
/// those of a spectral-normed <c>nn.Conv2d</c>: <c>bias</c> (when present), <c>weight_orig</c>, <c>weight_u</c>,
/// <c>weight_v</c>, in that order.
/// </summary>
internal sealed class SpectralNormConv2d : nn.Module<Tensor, Tensor>
{
    // Field order is registration order is state_dict order: PyTorch re-registers the weight as weight_orig after
    // the bias, then adds the two buffers.
    private readonly Parameter? bias;
    private readonly Parameter weight_orig;
    private readonly Tensor weight_u;
    private readonly Tensor weight_v;
    private readonly long[] stride;
    private readonly long[] padding;

    public SpectralNormConv2d(
        long inChannels,
        long outChannels,
        long kernelSize,
        long stride = 1,
        long padding = 0,
        bool bias = true,
        Device? device = null,
        bool drawVectorsLater = false,
        bool drawDroppedBias = false) : base(nameof(SpectralNormConv2d))
    {
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        weight_orig = new Parameter(empty(new[] { outChannels, inChannels, kernelSize, kernelSize }, device: device));
        this.bias = bias ? new Parameter(empty(outChannels, device: device)) : null;
        if (drawDroppedBias && !bias)
        {
            // The reference builds this conv with a bias and deletes it once a norm follows: its draw still counts.
            using var dropped = empty(outChannels, device: device);
            SpectralNorm.DefaultInit(weight_orig, dropped);
        }
        else
        {
            SpectralNorm.DefaultInit(weight_orig, this.bias);
        }
        if (drawVectorsLater)
        {
            weight_u = empty(outChannels, device: device);
            weight_v = empty(inChannels * kernelSize * kernelSize, device: device);
        }
        else
        {
            (weight_u, weight_v) = SpectralNorm.InitialVectors(outChannels, inChannels * kernelSize * kernelSize, device);
        }
        this.stride = new[] { stride, stride };
        this.padding = new[] { padding, padding };
        RegisterComponents();
    }

    public long InChannels { get; }
    public long OutChannels { get; }
    public long KernelSize { get; }

    /// <summary>
    /// Draws u and v now, for a layer built with <c>drawVectorsLater</c>: the reference builds all convs of a block
    /// before it spectral-normalises them, and drawing in its order makes a seeded build equal its weights.
    /// </summary>
    public void DrawVectors()
    {
        var (u, v) = SpectralNorm.InitialVectors(weight_u.shape[0], weight_v.shape[0], weight_u.device);
        using (no_grad())
        {
            weight_u.copy_(u);
            weight_v.copy_(v);
        }
        u.Dispose();
        v.Dispose();
    }

    /// <summary>The unnormalised weight, the trainable parameter.</summary>
    public Parameter WeightOrig => weight_orig;
    public Parameter? Bias => bias;
    public Tensor WeightU => weight_u;
    public Tensor WeightV => weight_v;

    /// <summary>
    /// Routes the convolution through <see cref="GemmConvolution"/>. Only for layers that never need a double
    /// backward: SPADE's generator and encoder, and its discriminator when no gradient penalty is on. Off by default.
    /// </summary>
    public bool SingleBackwardGemm { get; set; }

    public override Tensor forward(Tensor input)
    {
        using var weight = SpectralNorm.NormalizedWeight(weight_orig, weight_u, weight_v, training);
        if (SingleBackwardGemm && stride[0] == stride[1] && padding[0] == padding[1] && GemmConvolution.Eligible(input, weight))
            return GemmConvolution.Conv2d(input, weight, bias, stride[0], padding[0]);
        return F.conv2d(input, weight, bias, strides: stride, padding: padding);
    }
}

/// <summary>A Linear layer with PyTorch's spectral_norm applied (keys <c>bias</c>, <c>weight_orig</c>, <c>weight_u</c>, <c>weight_v</c>).</summary>
internal sealed class SpectralNormLinear : nn.Module<Tensor, Tensor>
{
    private readonly Parameter? bias;
    private readonly Parameter weight_orig;
    private readonly Tensor weight_u;
    private readonly Tensor weight_v;

    public SpectralNormLinear(long inFeatures, long outFeatures, bool bias = true, Device? device = null)
        : base(nameof(SpectralNormLinear))
    {
        weight_orig = new Parameter(empty(new[] { outFeatures, inFeatures }, device: device));
        this.bias = bias ? new Parameter(empty(outFeatures, device: device)) : null;
        SpectralNorm.DefaultInit(weight_orig, this.bias);
        (weight_u, weight_v) = SpectralNorm.InitialVectors(outFeatures, inFeatures, device);
        RegisterComponents();
    }

    public Parameter WeightOrig => weight_orig;
    public Parameter? Bias => bias;

    public override Tensor forward(Tensor input)
    {
        using var weight = SpectralNorm.NormalizedWeight(weight_orig, weight_u, weight_v, training);
        return F.linear(input, weight, bias);
    }
}
