using GanSharp.Models.Common;
using GanSharp.Training;
using GanSharp.Training.Tricks;

namespace GanSharp.Models.Dcgan;

/// <summary>
/// DCGAN (Radford et al. 2015): strided convolutions, BN in G and D, LeakyReLU in D, ReLU and tanh in G, Adam
/// (2e-4, β1 0.5). Also serves <c>lsgan</c> (the least-squares loss, seed 004's MSE instead of BCE) and <c>mlp</c>
/// (the plain GAN without BN). On 2-D data the networks are MLPs of the same shape.
/// </summary>
internal sealed class DcganRecipe : AdversarialRecipe
{
    public DcganRecipe(FamilyRunOptions options, TricksOptions tricks) : base(Build(options, tricks), tricks)
    {
    }

    private static FamilyParts Build(FamilyRunOptions o, TricksOptions t)
    {
        bool plain = o.Family == GanFamily.Mlp;
        var family = FamilyRegistry.Of(o.Family);
        var loss = o.Loss ?? family.Loss;
        // BN on 2-D points normalises away the very positions G must learn; it stays an image-only default.
        var norm = o.Norm ?? (plain || !o.IsImage ? DNorm.None : DNorm.Batch);
        var spec = FamilyNets.Spec(o, t, classes: 0, norm, gBatchNorm: !plain && o.IsImage);
        var (g, d, makeG) = FamilyNets.Build(o.IsImage, spec);
        // 2-D mixtures train in a few thousand steps only with a larger lr than DCGAN's images.
        double lr = o.IsImage ? 2e-4 : 1e-3;
        return new FamilyParts(family.Name, g, d, makeG, spec.ZDim, 0, loss, OptimizerKind.Adam, lr, lr, 0.5, 0.999, DSteps: 1, PenaltyKind.None,
            Saturating: o.Saturating);
    }
}
