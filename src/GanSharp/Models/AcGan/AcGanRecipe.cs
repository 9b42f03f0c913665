using GanSharp.Models.Common;
using GanSharp.Training;
using GanSharp.Training.Tricks;

namespace GanSharp.Models.AcGan;

/// <summary>
/// AC-GAN (Odena et al. 2017; ganhacks §12 and §16): G gets the class through an embedding multiplied with z, D has
/// an auxiliary head classifying real and generated samples; both add the class cross-entropy to their losses.
/// Classes are the shape kinds of shapes32 or the mixture modes of the 2-D sets.
/// </summary>
internal sealed class AcGanRecipe : AdversarialRecipe
{
    public AcGanRecipe(FamilyRunOptions options, TricksOptions tricks) : base(Build(options, tricks), tricks)
    {
    }

    private static FamilyParts Build(FamilyRunOptions o, TricksOptions t)
    {
        var family = FamilyRegistry.Of(o.Family);
        var loss = o.Loss ?? family.Loss;
        int classes = FamilyNets.DataClasses(o);
        var spec = FamilyNets.Spec(o, t, classes, o.Norm ?? (o.IsImage ? DNorm.Batch : DNorm.None), gBatchNorm: o.IsImage);
        var (g, d, makeG) = FamilyNets.Build(o.IsImage, spec);
        double lr = o.IsImage ? 2e-4 : 1e-3;
        return new FamilyParts(family.Name, g, d, makeG, spec.ZDim, classes, loss, OptimizerKind.Adam, lr, lr, 0.5, 0.999, DSteps: 1,
            PenaltyKind.None, Saturating: o.Saturating);
    }

    /// <summary>Samples of the given classes [n] (int64).</summary>
    public TorchSharp.torch.Tensor SampleClasses(TorchSharp.torch.Tensor classes)
    {
        using var _ = TorchSharp.torch.no_grad();
        return G.call(NewZ(classes.shape[0]), classes);
    }
}
