using System.Text.Json.Serialization;
using GanSharp.Nn;

namespace GanSharp.Models.Spade;

/// <summary>How many x2 upsamplings the generator has (the reference's --num_upsampling_layers).</summary>
public enum NumUpsamplingLayers
{
    /// <summary>5 upsamplings: latent grid crop/32.</summary>
    Normal,
    /// <summary>6: one more between G_middle_0 and G_middle_1 (cityscapes).</summary>
    More,
    /// <summary>7: also up_4 at the end, with ngf/2 channels.</summary>
    Most,
}

/// <summary>
/// The architecture options of SPADE/GauGAN, with the reference's defaults and option names in the docs.
/// Immutable; <see cref="Validate"/> once before building networks.
/// </summary>
public sealed record SpadeModelOptions
{
    /// <summary>
    /// --label_nc: number of label classes, without the don't-care class. This and the other data facts below are
    /// stored with the data options; a run's <see cref="SpadeRunOptions.Model"/> reads them from there.
    /// </summary>
    [JsonIgnore]
    public int LabelNc { get; init; }

    /// <summary>--contain_dontcare_label: one extra channel for the don't-care label (255 in files).</summary>
    [JsonIgnore]
    public bool ContainDontcareLabel { get; init; }

    /// <summary>--no_instance: no instance-edge channel.</summary>
    [JsonIgnore]
    public bool NoInstance { get; init; }

    /// <summary>--crop_size: output width.</summary>
    [JsonIgnore]
    public int CropSize { get; init; } = 256;

    /// <summary>--aspect_ratio: width / height of the output.</summary>
    [JsonIgnore]
    public double AspectRatio { get; init; } = 1.0;

    /// <summary>--ngf: generator (and encoder) base width.</summary>
    public int Ngf { get; init; } = 64;

    /// <summary>--ndf: discriminator base width.</summary>
    public int Ndf { get; init; } = 64;

    /// <summary>--z_dim: latent size of the VAE path.</summary>
    public int ZDim { get; init; } = 256;

    /// <summary>--norm_G.</summary>
    public string NormG { get; init; } = "spectralspadesyncbatch3x3";

    /// <summary>--norm_D.</summary>
    public string NormD { get; init; } = "spectralinstance";

    /// <summary>--norm_E.</summary>
    public string NormE { get; init; } = "spectralinstance";

    /// <summary>--num_upsampling_layers.</summary>
    public NumUpsamplingLayers NumUpsamplingLayers { get; init; } = NumUpsamplingLayers.Normal;

    /// <summary>--use_vae: an image encoder provides z; G starts from Linear(z) instead of the label map.</summary>
    public bool UseVae { get; init; }

    /// <summary>--num_D: discriminator scales.</summary>
    public int NumD { get; init; } = 2;

    /// <summary>--n_layers_D.</summary>
    public int NLayersD { get; init; } = 4;

    /// <summary>--init_variance: the xavier gain.</summary>
    public double InitVariance { get; init; } = 0.02;

    /// <summary>
    /// --no_ganFeat_loss: D then returns only its final prediction per scale, not intermediate features (stored with
    /// the loss options in a run).
    /// </summary>
    [JsonIgnore]
    public bool NoGanFeatLoss { get; init; }

    /// <summary>Image channels (the reference's output_nc, always 3).</summary>
    public int OutputNc { get; init; } = 3;

    /// <summary>Channels of the generator input: labels, don't-care, instance edges.</summary>
    public int SemanticNc => LabelNc + (ContainDontcareLabel ? 1 : 0) + (NoInstance ? 0 : 1);

    /// <summary>Number of x2 upsamplings from the latent grid to the output.</summary>
    public int UpsamplingCount => NumUpsamplingLayers switch
    {
        NumUpsamplingLayers.Normal => 5,
        NumUpsamplingLayers.More => 6,
        _ => 7,
    };

    /// <summary>The latent grid (sw, sh): sw = crop / 2^N, sh = round(sw / aspect) with Python's half-to-even.</summary>
    public (int Width, int Height) LatentSize
    {
        get
        {
            int sw = CropSize >> UpsamplingCount;
            int sh = (int)Math.Round(sw / AspectRatio, MidpointRounding.ToEven);
            return (sw, sh);
        }
    }

    /// <summary>Output size (height, width) of the generator.</summary>
    public (int Height, int Width) OutputSize
    {
        get
        {
            var (sw, sh) = LatentSize;
            return (sh << UpsamplingCount, sw << UpsamplingCount);
        }
    }

    /// <summary>Throws a <see cref="GanSharpException"/> naming the first bad option.</summary>
    public SpadeModelOptions Validate()
    {
        if (LabelNc < 1)
            throw new GanSharpException(ErrorKind.Usage, $"label_nc is {LabelNc}; it must be at least 1 (the number of label classes).");
        if (Ngf < 1 || Ndf < 1 || ZDim < 1)
            throw new GanSharpException(ErrorKind.Usage, $"ngf ({Ngf}), ndf ({Ndf}) and z_dim ({ZDim}) must be positive.");
        if (NumUpsamplingLayers == NumUpsamplingLayers.Most && Ngf < 2)
            throw new GanSharpException(ErrorKind.Usage, $"num_upsampling_layers most halves ngf in up_4, so ngf must be at least 2, not {Ngf}.");
        if (!(AspectRatio > 0) || double.IsInfinity(AspectRatio))
            throw new GanSharpException(ErrorKind.Usage, $"aspect_ratio {AspectRatio} must be a positive number.");
        int step = 1 << UpsamplingCount;
        if (CropSize < step || CropSize % step != 0)
            throw new GanSharpException(ErrorKind.Usage,
                $"crop_size {CropSize} must be a positive multiple of {step} for num_upsampling_layers "
                    + $"{NumUpsamplingLayers.ToString().ToLowerInvariant()} (e.g. {Math.Max(step, CropSize / step * step)}).");
        if (LatentSize.Height < 1)
            throw new GanSharpException(ErrorKind.Usage,
                $"crop_size {CropSize} with aspect_ratio {AspectRatio} gives a latent height of 0; lower aspect_ratio or raise crop_size.");
        if (NumD < 1 || NLayersD < 1)
            throw new GanSharpException(ErrorKind.Usage, $"num_D ({NumD}) and n_layers_D ({NLayersD}) must be at least 1.");
        if (!(InitVariance > 0))
            throw new GanSharpException(ErrorKind.Usage, $"init_variance {InitVariance} must be positive.");
        _ = SpadeNormSpec.Parse(NormG);
        _ = NonSpadeNormSpec.Parse(NormD, "norm_D");
        _ = NonSpadeNormSpec.Parse(NormE, "norm_E");
        return this;
    }
}
