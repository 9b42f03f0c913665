using GanSharp.Training;
using GanSharp.Training.Tricks;
using static TorchSharp.torch;

namespace GanSharp.Models.Common;

/// <summary>Builds the DCGAN-style G and D (MLPs on 2-D data, strided convolutions on 32×32 images) of a run.</summary>
internal static class FamilyNets
{
    /// <summary>The network spec of a run with the trick switches that shape networks.</summary>
    public static NetSpec Spec(FamilyRunOptions o, TricksOptions t, int classes, DNorm norm, bool gBatchNorm) => new(
        o.ZDimOrDefault, o.WidthOrDefault, o.Layers, classes, norm, gBatchNorm, t.GDropout, t.SpectralNormG, t.SpectralNormD, t.MinibatchStd);

    /// <summary>G, D and a factory of G (for the EMA copy) for the run's data.</summary>
    public static (nn.Module<Tensor, Tensor, Tensor> G, nn.Module<Tensor, Tensor> D, Func<nn.Module<Tensor, Tensor, Tensor>> MakeG) Build(
        bool image, NetSpec spec)
    {
        Func<nn.Module<Tensor, Tensor, Tensor>> makeG = image ? () => new ConvGenerator(spec) : () => new PointGenerator(spec);
        nn.Module<Tensor, Tensor> d = image ? new ConvDiscriminator(spec) : new PointDiscriminator(spec);
        return (makeG(), d, makeG);
    }

    /// <summary>Number of classes of the run's data (shape kinds or mixture modes).</summary>
    public static int DataClasses(FamilyRunOptions o) => o.Data switch
    {
        FamilyData.Shapes32 => Data.Shapes32Source.Classes,
        FamilyData.Ring8 => 8,
        _ => 25,
    };
}
