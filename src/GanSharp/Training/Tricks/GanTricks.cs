using static TorchSharp.torch;

namespace GanSharp.Training.Tricks;

/// <summary>
/// The stabilisation tricks of <see cref="TricksOptions"/> as one component that SPADE and every family hold: replay
/// buffer, DiffAugment and ADA, instance noise, soft and noisy D targets, gradient penalty (WGAN-GP, lazy R1) and the
/// EMA of G, with the state they add to a checkpoint. A recipe calls it at fixed points of its D and G losses and
/// after each step; the randomness it draws comes from torch's global generator, which the training state saves, and
/// the rest of its state is in <see cref="ExtraState"/> and the <c>G_ema</c> network, so a resumed run repeats exactly.
/// </summary>
internal sealed class GanTricks : IDisposable
{
    private long _batchImages = 1;

    /// <param name="options">The switches.</param>
    /// <param name="penalty">The penalty kind when <c>--penalty</c> is not given (the family's own).</param>
    /// <param name="penaltyWeight">λ of WGAN-GP or γ of R1 when <c>--penalty-weight</c> is not given.</param>
    /// <param name="emaBeta">The EMA decay when <c>--ema</c> is not given (0 = no average).</param>
    /// <param name="g">The live generator the EMA copy follows.</param>
    /// <param name="makeG">Builds a fresh generator of G's architecture for the EMA copy (called only when EMA is on).</param>
    public GanTricks(TricksOptions options, PenaltyKind penalty, double penaltyWeight, double emaBeta, nn.Module g, Func<nn.Module> makeG)
    {
        Options = options;
        Policy = DiffAugment.ParsePolicy(options.DiffAugment);
        Replay = options.ReplaySize > 0 ? new ReplayBuffer(options.ReplaySize, options.ReplayProb) : null;
        Ada = options.AdaTarget > 0
            ? new AdaptiveAugment(options.AdaTarget, options.AdaPMax, options.AdaSpeedImages, options.AdaInterval)
            : null;
        Penalty = options.Penalty ?? penalty;
        PenaltyWeight = options.PenaltyWeight ?? penaltyWeight;
        EmaBeta = options.EmaBeta ?? emaBeta;
        G = g;
        if (EmaBeta > 0)
        {
            GEma = makeG();
            Ema.CopyFrom(GEma, g);
            GEma.eval();
        }
    }

    /// <summary>The switches.</summary>
    public TricksOptions Options { get; }

    /// <summary>The DiffAugment policy (none unless --diff-augment or ADA is given).</summary>
    public AugmentPolicy Policy { get; }

    /// <summary>The experience-replay buffer of fakes (null unless --replay-size is set).</summary>
    public ReplayBuffer? Replay { get; }

    /// <summary>The adaptive augmentation state (null unless --ada-target is set).</summary>
    public AdaptiveAugment? Ada { get; }

    /// <summary>The gradient penalty in force.</summary>
    public PenaltyKind Penalty { get; }

    /// <summary>λ of WGAN-GP or γ of R1.</summary>
    public double PenaltyWeight { get; }

    /// <summary>Decay of the average of G's weights (0 = none).</summary>
    public double EmaBeta { get; }

    /// <summary>The live generator.</summary>
    public nn.Module G { get; }

    /// <summary>The average of G's weights, in eval mode (null without EMA).</summary>
    public nn.Module? GEma { get; }

    /// <summary>
    /// The EMA copy as the network <c>G_ema</c> (null without EMA): saved as a network so the average survives a
    /// resume bit for bit, and sampling can prefer it.
    /// </summary>
    public NetworkSlot? EmaSlot => GEma is null ? null : new NetworkSlot("G_ema", GEma);

    /// <summary>True when noise or augmentation changes D's image inputs.</summary>
    public bool TouchesImages => Options.InstanceNoise > 0 || Policy != AugmentPolicy.None;

    /// <summary>True when the label tricks change D's targets from 1 and 0.</summary>
    public bool TouchesTargets => Options.Smoothing != LabelSmoothing.None || Options.FlipFraction > 0;

    /// <summary>Records the images in the step's batch (ADA's speed counts images); call before every loss.</summary>
    public void BeginStep(long batchImages) => _batchImages = batchImages;

    /// <summary>
    /// What D sees of a real or fake image at 0-based iteration <paramref name="iteration"/>: instance noise first,
    /// then the (adaptive) augmentation.
    /// </summary>
    public Tensor DInput(Tensor x, long iteration) =>
        DiffAugment.Apply(InstanceNoise.Apply(x, Options, iteration), Policy, Ada?.P ?? 1.0);

    /// <summary>D's targets for real and fake samples with the soft and noisy label tricks applied.</summary>
    public (Tensor Real, Tensor Fake) Targets(long[] shape) => DTargets.For(shape, Options);

    /// <summary>
    /// The gradient penalty of this D step on the inputs D saw, reported as D_GP or D_R1 (null when none applies
    /// this iteration); <paramref name="score"/> is D's adversarial output on an input (differentiated twice).
    /// </summary>
    public Tensor? PenaltyTerm(Func<Tensor, Tensor> score, Tensor realIn, Tensor fakeIn, StepContext ctx)
    {
        switch (Penalty)
        {
            case PenaltyKind.WganGp:
                var gp = GradientPenalty.Wgangp(score, realIn, fakeIn, PenaltyWeight);
                ctx.Stats.Report("D_GP", gp);
                return gp;
            case PenaltyKind.R1:
                var r1 = GradientPenalty.LazyR1(score, realIn, PenaltyWeight, Options.R1Interval, ctx.Iteration);
                if (r1 is not null) ctx.Stats.Report("D_R1", r1);
                return r1;
            default:
                return null;
        }
    }

    /// <summary>After a step: ADA moves p after the last D repetition, the EMA follows G after every G step.</summary>
    public void AfterStep(TrainPhase phase, StepContext context)
    {
        if (phase.IsD)
        {
            if (Ada is not null && context.Repetition == phase.Repeat - 1)
            {
                Ada.Step((int)_batchImages);
                context.Stats.Report("ada_p", Ada.P);
            }
        }
        else if (GEma is not null)
        {
            Ema.Update(GEma, G, EmaBeta);
        }
    }

    /// <summary>The trick state a checkpoint keeps besides the networks (replay buffer, ADA's p).</summary>
    public Dictionary<object, object?> ExtraState()
    {
        var state = new Dictionary<object, object?>();
        if (Replay is not null) state["replay"] = Replay.State();
        if (Ada is not null) state["ada"] = Ada.State();
        return state;
    }

    /// <summary>Restores what <see cref="ExtraState"/> saved (keys it does not know are ignored).</summary>
    public void LoadExtraState(Dictionary<object, object?> state)
    {
        Replay?.Load(state.GetValueOrDefault("replay") as Dictionary<object, object?>);
        Ada?.Load(state.GetValueOrDefault("ada") as Dictionary<object, object?>);
    }

    public void Dispose()
    {
        GEma?.Dispose();
        Replay?.Dispose();
        Ada?.Dispose();
    }
}
