using GanSharp.Options;
using GanSharp.Models.Common;
using GanSharp.Training;
using GanSharp.Training.Tricks;
using static TorchSharp.torch;

namespace GanSharp.Models.Wgan;

/// <summary>
/// WGAN (Arjovsky et al. 2017) and WGAN-GP (Gulrajani et al. 2017), seed 003. WGAN: a critic without sigmoid,
/// weights clipped to [−c, c] after every critic step, RMSProp at 5e-5, 5 critic steps per G step. WGAN-GP: the
/// clipping replaced by λ times the gradient penalty on random interpolates, no BN in the critic (layer norm by
/// default on images, none on 2-D data) because the penalty is per sample. On images: λ = 10, Adam 1e-4 with
/// β = (0, 0.9), as the paper. On 2-D data, the paper's toy code (gan_toy.py): λ = 0.1 and Adam β = (0.5, 0.9)
/// (λ = 10 leaves G on 2 of the ring's 8 modes here); then Adam 2e-3 instead of the toy's 1e-4 (which needs tens of
/// thousands of iterations) with samples drawn from an average of G's weights (EMA 0.99), which removes the jitter
/// of G's iterates at that rate. Every critic step reads a new real batch (the trainer's fresh-batch phases).
/// </summary>
internal sealed class WganRecipe : AdversarialRecipe
{
    private readonly double _clip;

    public WganRecipe(FamilyRunOptions options, TricksOptions tricks) : base(Build(options, tricks), tricks)
    {
        _clip = options.Family == GanFamily.Wgan ? options.WeightClip : 0;
    }

    /// <summary>WGAN-GP's defaults on 2-D data (see the class summary): λ, Adam lr and β1, and the EMA decay of G.</summary>
    public static (double Lambda, double Lr, double Beta1, double Ema) PointDefaults => (0.1, 2e-3, 0.5, 0.99);

    private static FamilyParts Build(FamilyRunOptions o, TricksOptions t)
    {
        bool gp = o.Family == GanFamily.WganGp;
        var norm = o.Norm ?? (gp ? (o.IsImage ? DNorm.Layer : DNorm.None) : (o.IsImage ? DNorm.Batch : DNorm.None));
        if (gp && norm == DNorm.Batch)
            throw new GanSharpException(ErrorKind.Usage, $"{FamilyOptionSpecs.Family.Flag} wgan-gp penalises each sample's gradient, which "
                + $"batch norm couples: use {FamilyOptionSpecs.Norm.Flag} " +
                "layer, instance or none.");
        var spec = FamilyNets.Spec(o, t, classes: 0, norm, gBatchNorm: o.IsImage);
        var (g, d, makeG) = FamilyNets.Build(o.IsImage, spec);
        var family = FamilyRegistry.Of(o.Family);
        var loss = o.Loss ?? family.Loss;
        if (!gp)
            return new FamilyParts(family.Name, g, d, makeG, spec.ZDim, 0, loss, OptimizerKind.RmsProp, 5e-5, 5e-5, 0, 0, DSteps: 5,
                PenaltyKind.None);
        if (o.IsImage)
            return new FamilyParts(family.Name, g, d, makeG, spec.ZDim, 0, loss, OptimizerKind.Adam, 1e-4, 1e-4, 0.0, 0.9, DSteps: 5,
                PenaltyKind.WganGp);
        var p = PointDefaults;
        return new FamilyParts(family.Name, g, d, makeG, spec.ZDim, 0, loss, OptimizerKind.Adam, p.Lr, p.Lr, p.Beta1, 0.9, DSteps: 5,
            PenaltyKind.WganGp, PenaltyWeight: p.Lambda, EmaBeta: p.Ema);
    }

    public override void AfterStep(TrainPhase phase, StepContext context)
    {
        base.AfterStep(phase, context);
        if (!phase.IsD || _clip <= 0) return;
        // Clipping keeps the critic (roughly) K-Lipschitz, the condition of the Kantorovich-Rubinstein duality.
        using var _ = no_grad();
        foreach (var p in D.parameters()) p.clamp_(-_clip, _clip);
    }
}
