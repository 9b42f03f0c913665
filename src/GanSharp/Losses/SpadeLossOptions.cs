namespace GanSharp.Losses;

/// <summary>The loss options of SPADE training, with the reference's defaults.</summary>
public sealed record SpadeLossOptions
{
    /// <summary>--gan_mode.</summary>
    public AdversarialLoss GanMode { get; init; } = AdversarialLoss.Hinge;

    /// <summary>--lambda_feat: weight of feature matching.</summary>
    public double LambdaFeat { get; init; } = 10.0;

    /// <summary>--lambda_vgg: weight of the VGG perceptual loss.</summary>
    public double LambdaVgg { get; init; } = 10.0;

    /// <summary>--lambda_kld: weight of the VAE's KL term.</summary>
    public double LambdaKld { get; init; } = 0.05;

    /// <summary>
    /// Our addition, so that every generator term has a weight: multiplies G's GAN term (1 = the reference).
    /// D's own losses are not scaled: under Adam a constant factor on D's whole loss changes almost nothing.
    /// </summary>
    public double LambdaGan { get; init; } = 1.0;

    /// <summary>--no_ganFeat_loss.</summary>
    public bool NoGanFeatLoss { get; init; }

    /// <summary>--no_vgg_loss.</summary>
    public bool NoVggLoss { get; init; }

    /// <summary>Throws a <see cref="GanSharpException"/> naming the first bad option.</summary>
    public SpadeLossOptions Validate()
    {
        var weights = new[] { ("lambda_feat", LambdaFeat), ("lambda_vgg", LambdaVgg), ("lambda_kld", LambdaKld), ("lambda_gan", LambdaGan) };
        foreach (var (name, value) in weights)
        {
            if (!(value >= 0) || double.IsInfinity(value))
                throw new GanSharpException(ErrorKind.Usage, $"{name} is {value}; loss weights must be finite and not negative.");
        }
        return this;
    }
}
