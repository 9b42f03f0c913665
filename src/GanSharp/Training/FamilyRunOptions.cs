using GanSharp.Options;
using GanSharp.Losses;

namespace GanSharp.Training;

/// <summary>The families <c>gansharp train-family</c> trains.</summary>
public enum GanFamily
{
    /// <summary>Plain non-saturating GAN with MLPs (2-D) or DCGAN networks without BN (images).</summary>
    Mlp,
    /// <summary>DCGAN: strided convolutions, BN, LeakyReLU in D, ReLU/tanh in G, original loss.</summary>
    Dcgan,
    /// <summary>DCGAN networks with the least-squares loss.</summary>
    Lsgan,
    /// <summary>WGAN: critic without sigmoid, weight clipping, RMSProp, n_critic 5.</summary>
    Wgan,
    /// <summary>
    /// WGAN-GP: gradient penalty on interpolates, no BN in the critic; images: λ 10, Adam 1e-4 (0, 0.9); 2-D data:
    /// λ 0.1, Adam 2e-3 (0.5, 0.9), sampling from an EMA 0.99 of G.
    /// </summary>
    WganGp,
    /// <summary>BEGAN: auto-encoder D with L1 reconstruction and k_t control.</summary>
    Began,
    /// <summary>Progressive growing: resolution doubling with fade-in (images only).</summary>
    ProGan,
    /// <summary>AC-GAN: class-conditional G (label embedding) and an auxiliary classifier in D.</summary>
    AcGan,
}

/// <summary>The data sets the families train on.</summary>
public enum FamilyData
{
    /// <summary>8 Gaussians on a ring (radius 2, std 0.02).</summary>
    Ring8,
    /// <summary>25 Gaussians on a 5×5 grid (std 0.05).</summary>
    Grid25,
    /// <summary>32×32 coloured shapes, 4 classes, generated.</summary>
    Shapes32,
}

/// <summary>Normalisation in D's hidden layers.</summary>
public enum DNorm
{
    Batch,
    Instance,
    Layer,
    None,
}

/// <summary>Options of a family run: which family on which data, the networks' sizes and the family's own hyper-parameters.</summary>
public sealed record FamilyRunOptions
{
    public GanFamily Family { get; init; } = GanFamily.WganGp;

    public FamilyData Data { get; init; } = FamilyData.Ring8;

    public int BatchSize { get; init; } = 64;

    public int BatchesPerEpoch { get; init; } = 100;

    public int Epochs { get; init; } = 10;

    /// <summary>Latent size (null = 2 on 2-D data, 64 on images).</summary>
    public int? ZDim { get; init; }

    /// <summary>Hidden width of the MLPs or base channel count (ngf = ndf) of the conv nets (null = 128 / 32).</summary>
    public int? Width { get; init; }

    /// <summary>Hidden layers of the MLPs on 2-D data.</summary>
    public int Layers { get; init; } = 3;

    /// <summary>The adversarial loss (null = the family's: original, ls for lsgan, w for wgan/wgan-gp/progan).</summary>
    public AdversarialLoss? Loss { get; init; }

    /// <summary>Use the saturating minimax G loss with the original loss.</summary>
    public bool Saturating { get; init; }

    /// <summary>
    /// D's normalisation (null = batch for dcgan/lsgan/wgan/acgan, layer for wgan-gp on images, none on 2-D data without BN
    /// families).
    /// </summary>
    public DNorm? Norm { get; init; }

    /// <summary>WGAN weight clipping bound c (weights clamped to [−c, c]; 0 = off).</summary>
    public double WeightClip { get; init; } = 0.01;

    /// <summary>BEGAN diversity ratio γ = E[L(G(z))] / E[L(x)].</summary>
    public double BeganGamma { get; init; } = 0.5;

    /// <summary>BEGAN proportional gain λ_k of k_t.</summary>
    public double BeganLambdaK { get; init; } = 0.05;

    /// <summary>ProGAN images shown per fade-in and per stabilisation phase.</summary>
    public int ProGanPhaseImages { get; init; } = 6_000;

    /// <summary>ProGAN starting resolution (4, 8 or 16; it doubles up to 32).</summary>
    public int ProGanStartResolution { get; init; } = 4;

    /// <summary>Threads of libtorch's intra-op pool (0 = its default, one per core). The small 2-D networks run fastest on 1.</summary>
    public int Threads { get; init; }

    /// <summary>All defaults (wgan-gp on ring8).</summary>
    public static FamilyRunOptions Default { get; } = new();

    public bool IsImage => Data == FamilyData.Shapes32;

    public int ZDimOrDefault => ZDim ?? (IsImage ? 64 : 2);

    public int WidthOrDefault => Width ?? (IsImage ? 32 : 128);

    /// <summary>Checks ranges and family/data combinations.</summary>
    public void Validate()
    {
        static void Need(bool ok, string message)
        {
            if (!ok) throw new GanSharpException(ErrorKind.Usage, message);
        }
        Need(BatchSize >= 2, $"{FamilyOptionSpecs.BatchSize.Flag} {BatchSize} must be at least 2.");
        Need(BatchesPerEpoch >= 1, $"{FamilyOptionSpecs.BatchesPerEpoch.Flag} {BatchesPerEpoch} must be at least 1.");
        Need(Epochs >= 1, $"{FamilyOptionSpecs.Epochs.Flag} {Epochs} must be at least 1.");
        Need(ZDim is null or >= 1, $"{FamilyOptionSpecs.ZDim.Flag} {ZDim} must be at least 1.");
        Need(Width is null or >= 4, $"{FamilyOptionSpecs.Width.Flag} {Width} must be at least 4.");
        Need(Layers >= 1, $"{FamilyOptionSpecs.Layers.Flag} {Layers} must be at least 1.");
        Need(Threads >= 0, $"{FamilyOptionSpecs.Threads.Flag} {Threads} must not be negative (0 = one per core).");
        Need(WeightClip >= 0, $"{FamilyOptionSpecs.WeightClip.Flag} {WeightClip} must not be negative.");
        Need(BeganGamma is > 0 and <= 1, $"{FamilyOptionSpecs.BeganGamma.Flag} {BeganGamma} must lie in (0, 1].");
        Need(BeganLambdaK > 0, $"{FamilyOptionSpecs.BeganLambdaK.Flag} {BeganLambdaK} must be positive.");
        Need(ProGanPhaseImages >= BatchSize, $"{FamilyOptionSpecs.ProGanPhaseImages.Flag} {ProGanPhaseImages} must be at least one batch "
            + $"({BatchSize}).");
        Need(ProGanStartResolution is 4 or 8 or 16, $"{FamilyOptionSpecs.ProGanStartResolution.Flag} {ProGanStartResolution} must be 4, 8 or 16.");
        Need(Family != GanFamily.ProGan || IsImage, $"{FamilyOptionSpecs.Family.Flag} progan grows image resolution: use "
            + $"{FamilyOptionSpecs.Data.Flag} shapes32.");
        Need(Norm != DNorm.Instance || IsImage, $"{FamilyOptionSpecs.Norm.Flag} instance needs images: use batch, layer or none on 2-D data.");
        Need(!Saturating || (Loss ?? AdversarialLoss.Original) is AdversarialLoss.Original,
            $"{FamilyOptionSpecs.Saturating.Flag} applies to the original loss only: drop it or use {FamilyOptionSpecs.Loss.Flag} original.");
    }
}
