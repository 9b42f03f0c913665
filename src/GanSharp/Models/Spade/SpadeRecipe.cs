using GanSharp.Options;
using GanSharp.Data;
using GanSharp.Diagnostics;
using GanSharp.Distributed;
using GanSharp.Losses;
using GanSharp.Training;
using GanSharp.Training.Tricks;
using TorchSharp;
using static TorchSharp.torch;

namespace GanSharp.Models.Spade;

/// <summary>
/// GauGAN as a recipe: the reference iteration (G step, then D step on a fake regenerated under no_grad with the
/// updated G), Adam with TTUR, and the reference's loss names (KLD, GAN, GAN_Feat, VGG; D_Fake, D_real).
/// The tricks of <see cref="TricksOptions"/> that make sense for a conditional multiscale D are applied through
/// <see cref="SpadeDiscriminatorTricks"/> hooks; with the default (all off) no hook is set and every value and
/// random draw is the reference's. Trick randomness comes from torch's global generator, which the training state
/// saves, and the rest of the trick state (replay buffer, ADA p, EMA copy) is checkpointed, so resume is exact.
/// </summary>
public sealed class SpadeRecipe : IGanRecipe<SpadeBatch>, IDiagnosticRecipe<SpadeBatch>
{
    private readonly SpadeModel _model;
    private readonly OptimOptions _optim;
    private readonly TricksOptions _tricks;
    private readonly GanTricks _trick;
    private readonly double _lrFactorG;
    private readonly double _lrFactorD;
    private Tensor? _latestFake;

    public SpadeRecipe(SpadeModel model, OptimOptions optim, TricksOptions? tricks = null)
    {
        _tricks = tricks ?? new TricksOptions();
        CheckTricks(_tricks);
        _model = model;
        _optim = optim;
        _trick = new GanTricks(_tricks, PenaltyKind.None, penaltyWeight: 10.0, emaBeta: 0, model.NetG,
            () => ShadowGenerator(model));
        // A gradient penalty differentiates D's output twice; the GEMM convolutions have a single backward.
        if (_trick.Penalty != PenaltyKind.None && model.NetD is not null) model.NetD.SingleBackwardGemm = false;
        // --lr-g/--lr-d set the epoch-1 rate; SPADE's schedule (TTUR, linear decay) then scales it like the reference's.
        var (baseG, baseD) = optim.LearningRatesAt(1);
        _lrFactorG = _tricks.LrG is { } lg ? lg / baseG : 1.0;
        _lrFactorD = _tricks.LrD is { } ld ? ld / baseD : 1.0;
        var nets = new List<NetworkSlot> { new("G", model.NetG) };
        if (model.NetD != null) nets.Add(new NetworkSlot("D", model.NetD));
        if (model.NetE != null) nets.Add(new NetworkSlot("E", model.NetE));
        // `test` prefers G_ema when the run kept one.
        if (_trick.EmaSlot is { } ema) nets.Add(ema);
        Networks = nets;
        // Extra D steps (--d-steps) each see a new batch of the loader; the first shares the G step's batch.
        Phases = [new TrainPhase(GanPhase.G, _tricks.GSteps ?? 1), new TrainPhase(GanPhase.D, _tricks.DSteps ?? 1, FreshBatch: true)];
        var (lrG, lrD) = (baseG * _lrFactorG, baseD * _lrFactorD);
        var (b1, b2) = optim.Betas;
        Optimizers =
        [
            new OptimizerSlot("G", model.GeneratorParameters().ToList(), OptimizerKind.FusedAdam, lrG, b1, b2),
            new OptimizerSlot("D", model.DiscriminatorParameters().ToList(), OptimizerKind.FusedAdam, lrD, b1, b2),
        ];
        model.Train(true);
    }

    // The EMA copy of G, in G's dtype (float64 under GANSHARP_FLOAT64).
    private static SpadeGenerator ShadowGenerator(SpadeModel model)
    {
        var first = model.NetG.parameters().First();
        var g = new SpadeGenerator(model.Options, first.device);
        if (first.dtype != ScalarType.Float32) g.to(first.dtype);
        return g;
    }

    public string Family => "spade";

    public SpadeModel Model => _model;

    public IReadOnlyList<NetworkSlot> Networks { get; }

    public IReadOnlyList<OptimizerSlot> Optimizers { get; }

    public IReadOnlyList<TrainPhase> Phases { get; }

    /// <summary>The adaptive augmentation state (null unless --ada-target is set).</summary>
    public AdaptiveAugment? Ada => _trick.Ada;

    /// <summary>
    /// Sample diversity, validation losses and held-out D accuracy reported at log steps (null: none). The recipe owns
    /// it; its validation schedule is saved with the training state, so a resumed run validates where an uninterrupted
    /// one would.
    /// </summary>
    public SpadeDiagnostics? Diagnostics
    {
        get => _diagnostics;
        set
        {
            _diagnostics?.Dispose();
            _diagnostics = value;
        }
    }

    private SpadeDiagnostics? _diagnostics;

    /// <summary>Reports <see cref="Diagnostics"/>' statistics; the trainer calls it under no_grad at log steps only.</summary>
    public void ReportDiagnostics(SpadeBatch batch, StepContext context) => _diagnostics?.Report(_model, context, LossKind);

    /// <summary>
    /// Refuses, with one sentence, the tricks that have no meaning for SPADE (rather than ignoring them silently),
    /// and checks the ranges of the others.
    /// </summary>
    public static void CheckTricks(TricksOptions tricks)
    {
        static void Refuse(bool given, string message)
        {
            if (given) throw new GanSharpException(ErrorKind.Usage, message);
        }
        Refuse(tricks.MinibatchStd, $"{TricksOptionSpecs.MinibatchStd.Flag} does not apply to SPADE: its multiscale patch discriminator "
            + "has no single head to append the " +
            "feature to.");
        Refuse(tricks.SphereLatent, $"{TricksOptionSpecs.SphereLatent.Flag} does not apply to SPADE: its generator is driven by the label "
            + "map, and the VAE's z comes from " +
            "the encoder.");
        Refuse(tricks.JointBatch, $"{TricksOptionSpecs.JointBatch.Flag} does not apply to SPADE: its discriminator always sees real and "
            + "fake as one batch, as the " +
            "reference does.");
        Refuse(tricks.SpectralNormG, $"{TricksOptionSpecs.SpectralNormG.Flag} does not apply to SPADE: the 'spectral' prefix of "
            + $"{ModelOptionSpecs.NormG.Flag} already switches it (e.g. " +
            "spectralspadesyncbatch3x3).");
        Refuse(tricks.SpectralNormD, $"{TricksOptionSpecs.SpectralNormD.Flag} does not apply to SPADE: the 'spectral' prefix of "
            + $"{ModelOptionSpecs.NormD.Flag} already switches it (e.g. " +
            "spectralinstance).");
        Refuse(tricks.GDropout > 0, $"{TricksOptionSpecs.GDropout.Flag} does not apply to SPADE: its generator has no hidden dropout "
            + "layers to switch on.");
        tricks.Validate();
    }

    /// <summary>The loss names of the reference's loss_log.txt.</summary>
    public static bool IsLossName(string name) => name is "KLD" or "GAN" or "GAN_Feat" or "VGG" or "D_Fake" or "D_real";

    public IReadOnlyDictionary<string, double> LearningRates(int epoch)
    {
        var (g, d) = _optim.LearningRatesAt(epoch);
        return new Dictionary<string, double> { ["G"] = g * _lrFactorG, ["D"] = d * _lrFactorD };
    }

    public Tensor Loss(TrainPhase phase, SpadeBatch batch, StepContext context)
    {
        _trick.BeginStep(batch.Image.shape[0]);
        if (phase.Kind == GanPhase.G)
        {
            var g = _model.ComputeGeneratorLoss(batch.Semantics, batch.Image, Hooks(context, dStep: false));
            foreach (var (name, value) in g.Named) context.Stats.Report(name, value);
            _latestFake?.Dispose();
            _latestFake = g.Fake.detach().MoveToOuterDisposeScope();
            return g.Total();
        }
        var d = _model.ComputeDiscriminatorLoss(batch.Semantics, batch.Image, Hooks(context, dStep: true));
        foreach (var (name, value) in d.Named) context.Stats.Report(name, value);
        ReportDiscriminatorOutputs(context, d.PredFake, d.PredReal);
        var total = d.Total();
        _trick.Ada?.Accumulate(cat(d.PredReal.Select(s => s[^1].flatten()).ToArray()));
        if (PenaltyTerm(batch.Semantics, d, context) is { } gp) total = total.add(gp);
        return total;
    }

    /// <summary>The trick hooks of a step; null when no trick touches D's inputs or targets (the reference's path).</summary>
    private SpadeDiscriminatorTricks? Hooks(StepContext context, bool dStep)
    {
        bool image = _trick.TouchesImages;
        bool targets = dStep && _trick.TouchesTargets;
        bool replay = dStep && _trick.Replay is not null;
        if (!image && !targets && !replay) return null;
        long step = context.Iteration;
        return new SpadeDiscriminatorTricks
        {
            // Under mpirun the random tricks draw for the global batch and each rank keeps its samples' part.
            Image = image ? x => GlobalDraws.Apply(x, g => DiscriminatorImage(g, step)) : null,
            FakePairs = replay ? pairs => _trick.Replay!.Mix(pairs) : null,
            Targets = targets ? n => GlobalDraws.Targets(n, m => _trick.Targets([m])) : null,
        };
    }

    /// <summary>
    /// The image part of a D input at 0-based iteration <paramref name="iteration"/>: instance noise first, then the
    /// (adaptive) augmentation, in the order of the other families' D input. The label channels never pass here.
    /// </summary>
    public Tensor DiscriminatorImage(Tensor image, long iteration) => _trick.DInput(image, iteration);

    /// <summary>The gradient penalty of this D step on the image D saw (the label map is the fixed condition).</summary>
    /// <remarks>
    /// WGAN-GP's interpolates are scored under the real label map: with replay a stored fake's own map may differ, but
    /// the penalty only asks D to be 1-Lipschitz in the image, which holds under any fixed map.
    /// </remarks>
    private Tensor? PenaltyTerm(Tensor semantics, DiscriminatorLosses d, StepContext context) =>
        _trick.Penalty == PenaltyKind.None
            ? null
            : _trick.PenaltyTerm(x => _model.DiscriminatorScore(semantics, x), d.RealInput!, d.FakeInput!, context);

    // D's outputs on real and fake (last output of every scale, pooled), reported only when the trainer will log:
    // accuracy, D(x), D(G(z)) and r_t feed the first-aid kit's detectors.
    private void ReportDiscriminatorOutputs(StepContext context, Tensor[][] predFake, Tensor[][] predReal)
    {
        if (!context.IsLogStep) return;
        using var scope = NewDisposeScope();
        var real = cat(predReal.Select(s => s[^1].flatten()).ToArray());
        var fake = cat(predFake.Select(s => s[^1].flatten()).ToArray());
        DiscriminatorStats.Report(context.Stats, real, fake, LossKind);
    }

    private AdversarialLoss LossKind => _model.LossOptions.GanMode;

    public void AfterStep(TrainPhase phase, StepContext context) => _trick.AfterStep(phase, context);

    public IReadOnlyList<(string Name, Tensor Image)> Visuals(SpadeBatch batch)
    {
        var list = new List<(string, Tensor)> { ("input_label", batch.Label) };
        if (_latestFake is not null) list.Add(("synthesized_image", _latestFake));
        list.Add(("real_image", batch.Image));
        return list;
    }

    public Dictionary<object, object?> ExtraState()
    {
        var state = _trick.ExtraState();
        if (_diagnostics?.Schedule is { } schedule) state["validation"] = new Dictionary<object, object?> { ["last"] = schedule.Last };
        return state;
    }

    public void LoadExtraState(Dictionary<object, object?> state)
    {
        _trick.LoadExtraState(state);
        if (_diagnostics?.Schedule is { } schedule && state.GetValueOrDefault("validation") is Dictionary<object, object?> v)
            schedule.Last = Convert.ToInt64(v["last"], System.Globalization.CultureInfo.InvariantCulture);
    }

    public void Dispose()
    {
        _latestFake?.Dispose();
        _trick.Dispose();
        _diagnostics?.Dispose();
        _model.Dispose();
    }
}
