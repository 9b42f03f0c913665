using GanSharp.Options;
using GanSharp.Data;
using GanSharp.Models.Common;
using GanSharp.Training;
using GanSharp.Training.Tricks;
using static TorchSharp.torch;

namespace GanSharp.Models.ProGan;

/// <summary>
/// Progressive growing (Karras et al. 2018, seed 003): G and D grow from 4×4 to 32×32 with fade-in, equalized learning
/// rate, pixel norm in G and minibatch std in D; the WGAN-GP loss with the drift term 0.001·E[D(x)²], Adam 1e-3 with
/// β = (0, 0.99), one critic step. Real images are shown at the current resolution, blended between the two
/// resolutions while a block fades in, as the paper does. The resolution and α are in the training state.
/// </summary>
internal sealed class ProGanRecipe : AdversarialRecipe
{
    private readonly FamilyRunOptions _o;

    public ProGanRecipe(FamilyRunOptions options, TricksOptions tricks) : base(Build(options, tricks), tricks)
    {
        _o = options;
        Resolution = options.ProGanStartResolution;
        Apply();
    }

    /// <summary>The current resolution.</summary>
    public int Resolution { get; private set; }

    /// <summary>The fade-in weight of the newest block (1 when stable).</summary>
    public double Alpha { get; private set; } = 1.0;

    private static FamilyParts Build(FamilyRunOptions o, TricksOptions t)
    {
        if (t.SpectralNormG || t.SpectralNormD)
            throw new GanSharpException(ErrorKind.Usage, $"{FamilyOptionSpecs.Family.Flag} progan scales its weights with the equalized "
                + "learning rate: drop " +
                $"{TricksOptionSpecs.SpectralNormG.Flag}/-d.");
        int channels = o.Width ?? 32;
        Func<TorchSharp.torch.nn.Module<Tensor, Tensor, Tensor>> makeG = () => new ProGanGenerator(o.ZDimOrDefault, channels, 0);
        var d = new ProGanDiscriminator(channels, 0);
        var family = FamilyRegistry.Of(o.Family);
        return new FamilyParts(family.Name, makeG(), d, makeG, o.ZDimOrDefault, 0, o.Loss ?? family.Loss, OptimizerKind.Adam, 1e-3, 1e-3, 0.0, 0.99,
            DSteps: 1, PenaltyKind.WganGp, Drift: 0.001);
    }

    protected override void BeforeLoss(StepContext context)
    {
        (Resolution, Alpha) = ProGanSchedule.At(context.Iteration * BatchImages, _o.ProGanPhaseImages, _o.ProGanStartResolution);
        Apply();
    }

    private void Apply()
    {
        foreach (var net in Networks)
        {
            if (net.Module is IGrowing growing)
            {
                growing.Resolution = Resolution;
                growing.Alpha = Alpha;
            }
        }
    }

    protected override Tensor RealData(IGanBatch batch)
    {
        var x = batch.Data;
        var current = Resolution == x.shape[2] ? x : nn.functional.adaptive_avg_pool2d(x, [Resolution, Resolution]);
        if (Alpha >= 1 || Resolution == _o.ProGanStartResolution) return current;
        var lower = NetParts.UpsampleNearest(nn.functional.avg_pool2d(current, 2));
        return lower + (current - lower) * Alpha;
    }

    /// <summary>Samples upsampled to 32×32 so they compare with the data at any stage.</summary>
    public override Tensor Sample(int n)
    {
        var s = base.Sample(n);
        return s.shape[2] == 32 ? s : NetParts.UpsampleNearest(s, (int)(32 / s.shape[2]));
    }

    public override IReadOnlyList<(string Name, Tensor Image)> Visuals(IGanBatch batch)
    {
        int n = (int)Math.Min(8, batch.Data.shape[0]);
        return [("real_image", batch.Data[..n]), ("synthesized_image", Sample(n))];
    }

    public override Dictionary<object, object?> ExtraState()
    {
        var state = base.ExtraState();
        state["progan_resolution"] = (long)Resolution;
        state["progan_alpha"] = Alpha;
        return state;
    }

    public override void LoadExtraState(Dictionary<object, object?> state)
    {
        base.LoadExtraState(state);
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        if (state.GetValueOrDefault("progan_resolution") is { } r) Resolution = (int)Convert.ToInt64(r, inv);
        if (state.GetValueOrDefault("progan_alpha") is { } a) Alpha = Convert.ToDouble(a, inv);
        Apply();
    }
}
