using GanSharp.Options;
using GanSharp.Data;
using GanSharp.Models.Common;
using GanSharp.Training;
using GanSharp.Training.Tricks;
using static TorchSharp.torch;

namespace GanSharp.Models.Began;

/// <summary>
/// BEGAN's discriminator (Berthelot et al. 2017, seed 003): an auto-encoder whose L1 reconstruction error is the
/// energy of a sample. Encoder and decoder are MLPs on 2-D data and ELU convolutions on 32×32 images.
/// </summary>
internal sealed class BeganAutoEncoder : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> encoder;
    private readonly nn.Module<Tensor, Tensor> decoder;
    private readonly long _width;
    private readonly bool _image;

    public BeganAutoEncoder(bool image, int width, int layers, int bottleneck) : base(nameof(BeganAutoEncoder))
    {
        _width = width;
        _image = image;
        if (image)
        {
            long w = width;
            encoder = nn.Sequential(
                nn.Conv2d(3, w, 3, 1, 1), nn.ELU(),
                nn.Conv2d(w, 2 * w, 3, 2, 1), nn.ELU(),           // [N, 2w, 16, 16]
                nn.Conv2d(2 * w, 3 * w, 3, 2, 1), nn.ELU(),       // [N, 3w, 8, 8]
                new FlattenLinear(3 * w * 64, bottleneck));
            decoder = nn.Sequential(
                new BeganDecoder32(bottleneck, w));
        }
        else
        {
            var enc = new List<nn.Module<Tensor, Tensor>>();
            var dec = new List<nn.Module<Tensor, Tensor>>();
            long inW = 2;
            for (int i = 0; i < layers; i++)
            {
                enc.Add(nn.Linear(inW, width));
                enc.Add(nn.ELU());
                inW = width;
            }
            enc.Add(nn.Linear(width, bottleneck));
            inW = bottleneck;
            for (int i = 0; i < layers; i++)
            {
                dec.Add(nn.Linear(inW, width));
                dec.Add(nn.ELU());
                inW = width;
            }
            dec.Add(nn.Linear(width, 2));
            encoder = nn.Sequential(enc);
            decoder = nn.Sequential(dec);
        }
        RegisterComponents();
    }

    /// <summary>The reconstruction of x (same shape).</summary>
    public override Tensor forward(Tensor x) => decoder.call(encoder.call(x));

    /// <summary>Per-sample L1 reconstruction error [N].</summary>
    public Tensor Energy(Tensor x) => (call(x) - x).abs().flatten(1).mean([1]);
}

/// <summary>Flattens [N, ...] and applies a linear layer (the encoder's code layer).</summary>
internal sealed class FlattenLinear : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> fc;

    public FlattenLinear(long inputs, long outputs) : base(nameof(FlattenLinear))
    {
        fc = nn.Linear(inputs, outputs);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => fc.call(x.flatten(1));
}

/// <summary>BEGAN's image decoder: code → [N, w, 8, 8] → two nearest upsamplings with ELU convolutions → [N, 3, 32, 32].</summary>
internal sealed class BeganDecoder32 : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> fc;
    private readonly nn.Module<Tensor, Tensor> conv8;
    private readonly nn.Module<Tensor, Tensor> conv16;
    private readonly nn.Module<Tensor, Tensor> conv32;
    private readonly nn.Module<Tensor, Tensor> to_rgb;
    private readonly long _w;

    public BeganDecoder32(int bottleneck, long w) : base(nameof(BeganDecoder32))
    {
        _w = w;
        fc = nn.Linear(bottleneck, w * 64);
        conv8 = nn.Conv2d(w, w, 3, 1, 1);
        conv16 = nn.Conv2d(w, w, 3, 1, 1);
        conv32 = nn.Conv2d(w, w, 3, 1, 1);
        to_rgb = nn.Conv2d(w, 3, 3, 1, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor code)
    {
        var h = fc.call(code).view(-1, _w, 8, 8);                            // [N, w, 8, 8]
        h = nn.functional.elu(conv8.call(h), 1.0);
        h = NetParts.UpsampleNearest(h);   // [N, w, 16, 16]
        h = nn.functional.elu(conv16.call(h), 1.0);
        h = NetParts.UpsampleNearest(h);   // [N, w, 32, 32]
        h = nn.functional.elu(conv32.call(h), 1.0);
        return to_rgb.call(h);
    }
}

/// <summary>
/// BEGAN's image generator: the decoder's architecture with its own weights (z → [N, w, 8, 8] → ELU convolutions with
/// nearest upsampling → [N, 3, 32, 32]), linear output as in the paper.
/// </summary>
internal sealed class BeganGenerator : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> decoder;

    public BeganGenerator(int zDim, long width) : base(nameof(BeganGenerator))
    {
        decoder = new BeganDecoder32(zDim, width);
        RegisterComponents();
    }

    /// <summary>BEGAN is unconditional: y is empty and ignored.</summary>
    public override Tensor forward(Tensor z, Tensor y) => decoder.call(z);
}

/// <summary>
/// BEGAN: D minimises L(x) − k_t·L(G(z)), G minimises L(G(z)), where L is D's L1 reconstruction error; after each D
/// step k_{t+1} = clip(k_t + λ_k(γ·L(x) − L(G(z))), 0, 1) keeps E[L(G(z))] = γ·E[L(x)] (the diversity ratio γ).
/// The convergence measure M = L(x) + |γ·L(x) − L(G(z))| is reported every step. k_t lives on the device (no sync)
/// and is saved in the training state. Label tricks, penalties, ADA and the minibatch-std layer have no meaning for
/// an auto-encoder D and are refused.
/// </summary>
internal sealed class BeganRecipe : AdversarialRecipe
{
    private readonly double _gamma;
    private readonly double _lambdaK;
    private Tensor _k = zeros(1, dtype: ScalarType.Float32);

    public BeganRecipe(FamilyRunOptions options, TricksOptions tricks) : base(Build(options, tricks), tricks)
    {
        _gamma = options.BeganGamma;
        _lambdaK = options.BeganLambdaK;
    }

    /// <summary>The current k_t (a sync).</summary>
    public double K => _k.item<float>();

    private static FamilyParts Build(FamilyRunOptions o, TricksOptions t)
    {
        if (t.Smoothing != LabelSmoothing.None || t.FlipFraction > 0 || t.Penalty is not (null or PenaltyKind.None) || t.AdaTarget > 0
            || t.MinibatchStd || t.JointBatch)
            throw new GanSharpException(ErrorKind.Usage, $"{FamilyOptionSpecs.Family.Flag} began has an auto-encoder D without labels or "
                + "logits: drop the label, penalty, " +
                "ADA, minibatch-std and joint-batch flags.");
        if (o.IsImage && (t.SpectralNormG || t.GDropout > 0))
            throw new GanSharpException(ErrorKind.Usage, $"{FamilyOptionSpecs.Family.Flag} began on images uses the paper's generator (its "
                + "decoder's architecture), which " +
                $"has no spectral norm or dropout layers: drop {TricksOptionSpecs.SpectralNormG.Flag} and {TricksOptionSpecs.GDropout.Flag}.");
        var spec = FamilyNets.Spec(o, t, classes: 0, DNorm.None, gBatchNorm: false);
        // The paper's G is its decoder's architecture. On images that matters: a DCGAN G's transposed convolutions
        // start from high-frequency noise the auto-encoder reconstructs worse than the real shapes, so L(G(z)) stays
        // above γ·L(x), k_t stays 0, D never pushes back and G drifts to whatever the auto-encoder reconstructs best
        // (measured in docs/FAMILIES.md). On 2-D data both are MLPs, and the DCGAN one keeps the tricks' switches.
        Func<nn.Module<Tensor, Tensor, Tensor>> makeG = o.IsImage ? () => new BeganGenerator(spec.ZDim, spec.Width) : () => new PointGenerator(spec);
        // The code must be narrower than the data or the auto-encoder learns the identity and G gets no signal:
        // one number suffices for the 1-D manifolds of the 2-D mixtures.
        var d = new BeganAutoEncoder(o.IsImage, spec.Width, spec.Layers, bottleneck: o.IsImage ? 64 : 1);
        double lr = o.IsImage ? 1e-4 : 1e-3;
        var family = FamilyRegistry.Of(o.Family);
        return new FamilyParts(family.Name, makeG(), d, makeG, spec.ZDim, 0, family.Loss, OptimizerKind.Adam, lr, lr, 0.5, 0.999, DSteps: 1,
            PenaltyKind.None);
    }

    private BeganAutoEncoder AutoEncoder => (BeganAutoEncoder)D;

    protected override Tensor DLoss(IGanBatch batch, StepContext ctx)
    {
        var real = batch.Data;
        long n = real.shape[0];
        Tensor fake;
        using (no_grad()) fake = G.call(NewZ(n), NewLabels(n));
        fake = Replay?.Mix(fake) ?? fake.detach();
        var lossReal = AutoEncoder.Energy(DInput(real, ctx)).mean();
        var lossFake = AutoEncoder.Energy(DInput(fake, ctx)).mean();
        // A copy for the graph: _k is replaced below while backward still needs the factor.
        var loss = lossReal - _k.clone() * lossFake;
        var balance = (lossReal * _gamma - lossFake).detach();
        var m = lossReal.detach() + balance.abs();
        var next = (_k + balance * _lambdaK).clamp(0, 1);
        _k.Dispose();
        _k = next.DetachFromDisposeScope();
        ctx.Stats.Report("D_real", lossReal);
        ctx.Stats.Report("D_fake", lossFake);
        ctx.Stats.Report("k", _k);
        ctx.Stats.Report("M", m);
        return loss.sum();
    }

    protected override Tensor GLoss(IGanBatch batch, StepContext ctx)
    {
        long n = batch.Data.shape[0];
        var fake = G.call(NewZ(n), NewLabels(n));
        var loss = AutoEncoder.Energy(DInput(fake, ctx)).mean();
        ctx.Stats.Report("G_GAN", loss);
        return loss;
    }

    public override Dictionary<object, object?> ExtraState()
    {
        var state = base.ExtraState();
        state["began_k"] = (double)_k.item<float>();
        return state;
    }

    public override void LoadExtraState(Dictionary<object, object?> state)
    {
        base.LoadExtraState(state);
        if (state.GetValueOrDefault("began_k") is { } k)
        {
            _k.Dispose();
            _k = tensor(new[] { (float)Convert.ToDouble(k, System.Globalization.CultureInfo.InvariantCulture) }).DetachFromDisposeScope();
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _k.Dispose();
        base.Dispose(disposing);
    }
}
