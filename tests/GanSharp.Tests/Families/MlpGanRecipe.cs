using GanSharp.Data;
using GanSharp.Diagnostics;
using GanSharp.Losses;
using GanSharp.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanSharp.Models.Mlp;

/// <summary>Options of the plain MLP GAN for 2-D data (the baseline of the benchmarks).</summary>
public sealed record MlpGanOptions
{
    public int ZDim { get; init; } = 2;
    public int Hidden { get; init; } = 128;

    /// <summary>D's width when it should differ from G's (0 = <see cref="Hidden"/>); unbalanced capacities provoke failures.</summary>
    public int HiddenD { get; init; }
    public int LayersG { get; init; } = 3;
    public int LayersD { get; init; } = 3;
    public double LrG { get; init; } = 1e-3;
    public double LrD { get; init; } = 1e-3;
    public double Beta1 { get; init; } = 0.5;
    public double Beta2 { get; init; } = 0.999;
}

/// <summary>A multilayer perceptron: Linear+ReLU blocks (LeakyReLU in D) then a Linear head.</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    private readonly Sequential main;

    public Mlp(string name, int inputs, int hidden, int outputs, int layers, bool leaky) : base(name)
    {
        var mods = new List<(string, nn.Module<Tensor, Tensor>)>();
        int width = inputs;
        for (int i = 0; i < layers; i++)
        {
            mods.Add(($"{2 * i}", nn.Linear(width, hidden)));
            mods.Add(($"{2 * i + 1}", leaky ? nn.LeakyReLU(0.2) : nn.ReLU()));
            width = hidden;
        }
        mods.Add(($"{2 * layers}", nn.Linear(width, outputs)));
        main = nn.Sequential(mods);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => main.call(x);
}

/// <summary>
/// The plain non-saturating GAN on 2-D points: D step on real vs detached fake, then G step. Used as the reference
/// family of the 2-D benchmarks and of the trainer's own tests.
/// </summary>
public sealed class MlpGanRecipe : IGanRecipe<PointBatch>, IDiagnosticRecipe<PointBatch>
{
    /// <summary>Fakes drawn from the fixed z batch for the diversity statistic.</summary>
    public const int DiversitySamples = 256;

    private readonly MlpGanOptions _o;
    private readonly Mlp _g;
    private readonly Mlp _d;
    private readonly Tensor _fixedZ;

    public MlpGanRecipe(MlpGanOptions options)
    {
        _o = options;
        _g = new Mlp("netG", options.ZDim, options.Hidden, 2, options.LayersG, leaky: false);
        _d = new Mlp("netD", 2, options.HiddenD > 0 ? options.HiddenD : options.Hidden, 1, options.LayersD, leaky: true);
        Networks = [new NetworkSlot("G", _g), new NetworkSlot("D", _d)];
        // Drawn from a private generator: the global stream belongs to training (exact resume).
        using (var gen = new Generator(1234)) _fixedZ = randn([DiversitySamples, options.ZDim], generator: gen);
        Optimizers =
        [
            new OptimizerSlot("G", _g.parameters().ToList(), OptimizerKind.Adam, options.LrG, options.Beta1, options.Beta2),
            new OptimizerSlot("D", _d.parameters().ToList(), OptimizerKind.Adam, options.LrD, options.Beta1, options.Beta2),
        ];
    }

    public string Family => "mlp";

    public IReadOnlyList<NetworkSlot> Networks { get; }

    public IReadOnlyList<OptimizerSlot> Optimizers { get; }

    public IReadOnlyList<TrainPhase> Phases { get; } = [new(GanPhase.D), new(GanPhase.G)];

    public Mlp Generator => _g;

    public IReadOnlyDictionary<string, double> LearningRates(int epoch) =>
        new Dictionary<string, double> { ["G"] = _o.LrG, ["D"] = _o.LrD };

    public Tensor Sample(int n)
    {
        using var z = randn(n, _o.ZDim);
        return _g.call(z);
    }

    public Tensor Loss(TrainPhase phase, PointBatch batch, StepContext context)
    {
        long n = batch.Points.shape[0];
        if (phase.IsD)
        {
            Tensor fake;
            using (no_grad()) fake = Sample((int)n);
            var real = _d.call(batch.Points);
            var fakeOut = _d.call(fake);
            var lossReal = nn.functional.binary_cross_entropy_with_logits(real, ones_like(real));
            var lossFake = nn.functional.binary_cross_entropy_with_logits(fakeOut, zeros_like(fakeOut));
            context.Stats.Report("D_real", lossReal);
            context.Stats.Report("D_Fake", lossFake);
            // One batch's accuracy at each log step is enough for windowed detectors, and on a network this small
            // the extra kernels at every iteration would cost as much as the step itself.
            if (context.IsLogStep) DiscriminatorStats.Report(context.Stats, real, fakeOut, AdversarialLoss.Original);
            return lossReal + lossFake;
        }
        var outG = _d.call(Sample((int)n));
        var lossG = nn.functional.binary_cross_entropy_with_logits(outG, ones_like(outG));
        context.Stats.Report("GAN", lossG);
        return lossG;
    }

    /// <summary>
    /// Real points D never trains on (e.g. drawn from the mixture with a separate generator); when set, D's accuracy on
    /// them is reported as <c>D_acc_heldout</c> next to <c>D_acc_real</c>, the memorisation test. The recipe owns it.
    /// </summary>
    public Tensor? HeldOutPoints
    {
        get => _heldOut;
        set
        {
            _heldOut?.Dispose();
            _heldOut = value;
        }
    }

    private Tensor? _heldOut;

    /// <summary>
    /// Diversity of G(fixed z) against that of the real batch (mode collapse on the ring shows as a fall), and D on
    /// the held-out points when there are some.
    /// </summary>
    public void ReportDiagnostics(PointBatch batch, StepContext context)
    {
        if (_heldOut is not null) DiscriminatorStats.ReportHeldOut(context.Stats, _d.call(_heldOut), AdversarialLoss.Original);
        context.Stats.Report("diversity", SampleDiversity.MeanPairwiseDistance(_g.call(_fixedZ)));
        context.Stats.Report("diversity_real", SampleDiversity.MeanPairwiseDistance(batch.Points));
    }

    public void AfterStep(TrainPhase phase, StepContext context)
    {
    }

    /// <summary>
    /// The real batch and G(fixed z) drawn as point clouds (the reference's real_image / synthesized_image names),
    /// so the run's web page and the doctor report show mode coverage over time. The fixed z keeps the global RNG
    /// stream untouched.
    /// </summary>
    public IReadOnlyList<(string Name, Tensor Image)> Visuals(PointBatch batch) =>
        [("real_image", PointCloud(batch.Points)), ("synthesized_image", PointCloud(_g.call(_fixedZ)))];

    /// <summary>Rasterises 2-D points in [-extent, extent]² into a [1, 3, size, size] image in [-1, 1] (dark dots on white).</summary>
    public static Tensor PointCloud(Tensor points, int size = 96, float extent = 3f)
    {
        var xy = points.detach().cpu().to_type(ScalarType.Float32).data<float>().ToArray();
        var pixels = new float[3 * size * size];
        Array.Fill(pixels, 1f);
        for (int i = 0; i + 1 < xy.Length; i += 2)
        {
            // Image rows grow downwards, the y axis upwards.
            int px = (int)MathF.Floor((xy[i] + extent) / (2 * extent) * size);
            int py = (int)MathF.Floor((extent - xy[i + 1]) / (2 * extent) * size);
            if (px < 0 || py < 0 || px >= size || py >= size) continue;
            pixels[py * size + px] = -1f;                       // R
            pixels[size * size + py * size + px] = -0.6f;       // G
            pixels[2 * size * size + py * size + px] = 0.2f;    // B: a dark blue dot
        }
        return tensor(pixels, [1, 3, size, size]);
    }

    public Dictionary<object, object?> ExtraState() => [];

    public void LoadExtraState(Dictionary<object, object?> state)
    {
    }

    public void Dispose()
    {
        _g.Dispose();
        _d.Dispose();
        _fixedZ.Dispose();
        _heldOut?.Dispose();
    }
}
