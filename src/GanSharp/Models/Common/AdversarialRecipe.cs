using GanSharp.Data;
using GanSharp.Losses;
using GanSharp.Training;
using GanSharp.Training.Tricks;
using static TorchSharp.torch;

namespace GanSharp.Models.Common;

/// <summary>
/// The D-then-G adversarial iteration shared by the families, with every trick of <see cref="TricksOptions"/>
/// applied through the one-call helpers (targets, instance noise, replay, DiffAugment/ADA, penalties, EMA).
/// A family supplies networks and defaults and overrides only what its paper changes (WGAN's clipping, BEGAN's
/// reconstruction losses, ProGAN's growth). All randomness comes from torch's global generator, which the
/// training state saves, so resumed runs repeat exactly.
/// </summary>
internal abstract class AdversarialRecipe : IGanRecipe<IGanBatch>, IGanSampler
{
    private readonly double _lrG;
    private readonly double _lrD;

    protected AdversarialRecipe(FamilyParts parts, TricksOptions tricks)
    {
        Parts = parts;
        Tricks = tricks;
        G = parts.G;
        D = parts.D;
        LossKind = parts.Loss;
        Trick = new GanTricks(tricks, parts.Penalty, parts.PenaltyWeight, parts.EmaBeta, G, parts.MakeG);
        _lrG = tricks.LrG ?? parts.LrG;
        _lrD = tricks.LrD ?? parts.LrD;
        var nets = new List<NetworkSlot> { new("G", G), new("D", D) };
        if (Trick.EmaSlot is { } ema) nets.Add(ema);
        Networks = nets;
        Optimizers =
        [
            new OptimizerSlot("G", G.parameters().ToList(), parts.Optimizer, _lrG, parts.Beta1, parts.Beta2),
            new OptimizerSlot("D", D.parameters().ToList(), parts.Optimizer, _lrD, parts.Beta1, parts.Beta2),
        ];
        // Every critic step sees a new real batch, as WGAN's and WGAN-GP's critic loops (n_critic > 1) do.
        Phases = [new TrainPhase(GanPhase.D, tricks.DSteps ?? parts.DSteps, FreshBatch: true), new TrainPhase(GanPhase.G, tricks.GSteps ?? 1)];
    }

    protected FamilyParts Parts { get; }

    protected TricksOptions Tricks { get; }

    protected nn.Module<Tensor, Tensor, Tensor> G { get; }

    protected nn.Module<Tensor, Tensor> D { get; }

    protected AdversarialLoss LossKind { get; }

    /// <summary>The tricks in force, with their state.</summary>
    protected GanTricks Trick { get; }

    protected ReplayBuffer? Replay => Trick.Replay;

    /// <summary>The adaptive augmentation state (null unless --ada-target is set).</summary>
    public AdaptiveAugment? Ada => Trick.Ada;

    /// <summary>λ of WGAN-GP or γ of R1.</summary>
    public double PenaltyWeight => Trick.PenaltyWeight;

    /// <summary>Decay of the average of G's weights that <see cref="Sample"/> draws from (0 = none, sample G itself).</summary>
    public double EmaBeta => Trick.EmaBeta;

    // The EMA copy with G's signature (null without EMA).
    private nn.Module<Tensor, Tensor, Tensor>? GEma => (nn.Module<Tensor, Tensor, Tensor>?)Trick.GEma;

    public string Family => Parts.Family;

    public IReadOnlyList<NetworkSlot> Networks { get; }

    public IReadOnlyList<OptimizerSlot> Optimizers { get; }

    public IReadOnlyList<TrainPhase> Phases { get; }

    public IReadOnlyDictionary<string, double> LearningRates(int epoch) =>
        new Dictionary<string, double> { ["G"] = _lrG, ["D"] = _lrD };

    public Tensor Loss(TrainPhase phase, IGanBatch batch, StepContext context)
    {
        BatchImages = batch.Data.shape[0];
        Trick.BeginStep(BatchImages);
        BeforeLoss(context);
        return phase.IsD ? DLoss(batch, context) : GLoss(batch, context);
    }

    /// <summary>Runs before every loss (ProGAN sets its resolution and fade-in α from the iteration here).</summary>
    protected virtual void BeforeLoss(StepContext context)
    {
    }

    /// <summary>The real samples D sees this iteration (ProGAN resizes them to the current resolution).</summary>
    protected virtual Tensor RealData(IGanBatch batch) => batch.Data;

    /// <summary>Latent codes for n samples (sphere or Gaussian).</summary>
    protected Tensor NewZ(long n) => Latent.Sample(n, Parts.ZDim, Tricks.SphereLatent);

    /// <summary>Classes for generated samples: uniform over the classes, empty for unconditional families.</summary>
    protected Tensor NewLabels(long n) => Parts.Classes > 0 ? randint(0, Parts.Classes, [n]) : empty(0, dtype: ScalarType.Int64);

    /// <summary>What D sees of a real or fake input: instance noise, then the (adaptive) augmentation.</summary>
    protected Tensor DInput(Tensor x, StepContext ctx) => Trick.DInput(x, ctx.Iteration);

    /// <summary>D's output split into the adversarial logit [N] and class logits [N, classes] (null without classes).</summary>
    protected (Tensor Logit, Tensor? Classes) Split(Tensor output) =>
        (output[.., 0], Parts.Classes > 0 ? output[.., 1..] : null);

    /// <summary>The adversarial logit of D on x.</summary>
    protected Tensor Logit(Tensor x) => D.call(x)[.., 0];

    /// <summary>D's loss: adversarial terms with the label tricks, AC-GAN class terms, penalty.</summary>
    protected virtual Tensor DLoss(IGanBatch batch, StepContext ctx)
    {
        var real = RealData(batch);
        long n = real.shape[0];
        var yFake = NewLabels(n);
        Tensor fake;
        using (no_grad()) fake = G.call(NewZ(n), yFake);
        bool replayed = Replay is not null;
        fake = Replay?.Mix(fake) ?? fake.detach();
        var realIn = DInput(real, ctx);
        var fakeIn = DInput(fake, ctx);
        var (outReal, outFake) = DiscriminatorPass.Run(D.call, realIn, fakeIn, Tricks.JointBatch);
        var (lr, cr) = Split(outReal);
        var (lf, cf) = Split(outFake);
        var (tReal, tFake) = Trick.Targets(lr.shape);
        var lossReal = Adversarial.DReal(lr, LossKind, tReal);
        var lossFake = Adversarial.DFake(lf, LossKind, tFake);
        ctx.Stats.Report("D_real", lossReal);
        ctx.Stats.Report("D_fake", lossFake);
        ctx.Stats.Report("D(x)", lr.mean());
        ctx.Stats.Report("D(G(z))", lf.mean());
        // Accuracy, r_t and D's chance loss feed the first-aid kit's detectors; only when the trainer will log.
        if (ctx.IsLogStep) Diagnostics.DiscriminatorStats.Report(ctx.Stats, lr, lf, LossKind);
        var loss = lossReal + lossFake;
        if (cr is not null && batch.Labels is { } y)
        {
            var cls = nn.functional.cross_entropy(cr, y);
            // Replayed fakes no longer carry the class they were generated with.
            if (!replayed && cf is not null) cls += nn.functional.cross_entropy(cf, yFake);
            ctx.Stats.Report("D_cls", cls);
            loss += cls;
        }
        if (Parts.Drift > 0)
        {
            // ProGAN's drift term keeps the critic's outputs near zero.
            var drift = lr.pow(2).mean() * Parts.Drift;
            ctx.Stats.Report("D_drift", drift);
            loss += drift;
        }
        Ada?.Accumulate(lr);
        if (PenaltyTerm(realIn, fakeIn, ctx) is { } gp) loss += gp;
        return loss;
    }

    /// <summary>The gradient penalty of this iteration, reported as D_GP or D_R1 (null when none applies).</summary>
    protected Tensor? PenaltyTerm(Tensor realIn, Tensor fakeIn, StepContext ctx) => Trick.PenaltyTerm(Logit, realIn, fakeIn, ctx);

    /// <summary>G's loss: adversarial term on D's view of fresh fakes, plus the AC-GAN class term.</summary>
    protected virtual Tensor GLoss(IGanBatch batch, StepContext ctx)
    {
        long n = batch.Data.shape[0];
        var yFake = NewLabels(n);
        var fake = G.call(NewZ(n), yFake);
        var (l, c) = Split(D.call(DInput(fake, ctx)));
        var loss = Adversarial.G(l, LossKind, Parts.Saturating);
        ctx.Stats.Report("G_GAN", loss);
        if (c is not null)
        {
            var cls = nn.functional.cross_entropy(c, yFake);
            ctx.Stats.Report("G_cls", cls);
            loss += cls;
        }
        return loss;
    }

    public virtual void AfterStep(TrainPhase phase, StepContext context) => Trick.AfterStep(phase, context);

    /// <summary>Images in the current batch (ADA's speed counts images).</summary>
    protected long BatchImages { get; private set; } = 1;

    /// <summary>
    /// n samples from the EMA copy of G (eval mode) when EMA is on, else from G in train mode: G's batch norm then
    /// normalises with the batch's own statistics, as DCGAN's reference sampling does, since running statistics
    /// lag far behind a G that changes every step. Running statistics are never read in train mode, so the
    /// update this causes changes no training result.
    /// </summary>
    public virtual Tensor Sample(int n)
    {
        using var _ = no_grad();
        return (GEma ?? G).call(NewZ(n), NewLabels(n));
    }

    public virtual IReadOnlyList<(string Name, Tensor Image)> Visuals(IGanBatch batch)
    {
        if (batch.Data.dim() != 4) return [];
        int n = (int)Math.Min(8, batch.Data.shape[0]);
        return [("real_image", batch.Data[..n]), ("synthesized_image", Sample(n))];
    }

    public virtual Dictionary<object, object?> ExtraState() => Trick.ExtraState();

    public virtual void LoadExtraState(Dictionary<object, object?> state) => Trick.LoadExtraState(state);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (!disposing) return;
        G.Dispose();
        D.Dispose();
        Trick.Dispose();
    }
}
