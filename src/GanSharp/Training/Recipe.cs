using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanSharp.Training;

/// <summary>A network the recipe trains, under the name its checkpoint files use (<c>latest_net_G.pth</c>).</summary>
public sealed record NetworkSlot(string Name, nn.Module Module);

/// <summary>Which optimizer algorithm a slot uses.</summary>
public enum OptimizerKind
{
    /// <summary>TorchSharp's Adam: eight tensor operations per parameter.</summary>
    Adam,
    RmsProp,

    /// <summary>
    /// Adam with its update in one pass per parameter (<see cref="FusedAdam"/>): the same state and checkpoints, results
    /// within a unit or two in the last place of <see cref="Adam"/>'s. SPADE uses it (tens of millions of parameters:
    /// 3.6x faster steps, ~240 MB less peak memory at crop 128); the small families keep <see cref="Adam"/>, whose
    /// trajectories docs/FAMILIES.md and the family tests were measured with (a GAN's course moves with the last bit).
    /// </summary>
    FusedAdam,
}

/// <summary>One optimizer: its name (phases refer to it), its parameters and hyper-parameters.</summary>
public sealed record OptimizerSlot(
    string Name,
    IReadOnlyList<Parameter> Parameters,
    OptimizerKind Kind,
    double Lr,
    double Beta1 = 0.0,
    double Beta2 = 0.9,
    double WeightDecay = 0.0);

/// <summary>Which network a phase of an iteration trains.</summary>
public enum GanPhase
{
    /// <summary>The generator's step (optimizer and network "G").</summary>
    G,
    /// <summary>The discriminator's (critic's) step (optimizer and network "D").</summary>
    D,
}

/// <summary>
/// One phase of an iteration: the recipe computes a loss for it, the trainer back-propagates and steps the
/// optimizer of the phase's network, <see cref="Repeat"/> times (n_critic for WGAN, G steps per D step, ...). With
/// <see cref="FreshBatch"/>, every repetition after the first is given the next batch of the source instead of the
/// iteration's batch, as WGAN's and WGAN-GP's critic loops draw a new real batch per critic step; the extra batches
/// count in the data position, so a resumed run reads exactly the batches a straight run would.
/// </summary>
public sealed record TrainPhase(GanPhase Kind, int Repeat = 1, bool FreshBatch = false)
{
    /// <summary>The phase's name in messages and statistics ("G" or "D").</summary>
    public string Name => Kind == GanPhase.G ? "G" : "D";

    /// <summary>The optimizer slot the phase steps: the one of its network, by the same name.</summary>
    public string Optimizer => Name;

    /// <summary>Batches the phase reads beyond the iteration's own.</summary>
    public int ExtraBatches => FreshBatch ? Repeat - 1 : 0;

    /// <summary>True for the discriminator's phase.</summary>
    public bool IsD => Kind == GanPhase.D;
}

/// <summary>What a recipe sees while computing a phase's loss.</summary>
public sealed class StepContext
{
    internal StepContext(StatsCollector stats) => Stats = stats;

    public StatsCollector Stats { get; }

    /// <summary>1-based epoch.</summary>
    public int Epoch { get; internal set; }

    /// <summary>Iterations done before this one (0-based index of this iteration in the run).</summary>
    public long Iteration
    {
        get;
        internal set
        {
            field = value;
            // The collector places a divergence in the iteration of its first non-finite report; a record counts
            // this iteration as the one that ends with value + 1 done.
            Stats.CurrentIteration = value + 1;
        }
    }

    /// <summary>Which repetition of the phase this is (0-based).</summary>
    public int Repetition { get; internal set; }

    /// <summary>
    /// True in an iteration that ends with a statistics flush: recipes report costly statistics (ones that need
    /// extra forward passes) only then, since means over the interval are not needed for them.
    /// </summary>
    public bool IsLogStep { get; internal set; }
}

/// <summary>
/// A GAN family: networks, optimizers, the phases of an iteration and the loss of each. The trainer knows nothing
/// else about the family, so adding one never touches the loop.
/// </summary>
internal interface IGanRecipe<in TBatch> : IDisposable
{
    string Family { get; }

    IReadOnlyList<NetworkSlot> Networks { get; }

    /// <summary>Optimizers for the epoch's learning rates (the trainer rebuilds lr per epoch through <see cref="LearningRates"/>).</summary>
    IReadOnlyList<OptimizerSlot> Optimizers { get; }

    IReadOnlyList<TrainPhase> Phases { get; }

    /// <summary>Learning rates per optimizer name in a 1-based epoch (schedules live in the recipe's options).</summary>
    IReadOnlyDictionary<string, double> LearningRates(int epoch);

    /// <summary>Computes the phase's loss (a scalar to back-propagate) and reports its named terms.</summary>
    Tensor Loss(TrainPhase phase, TBatch batch, StepContext context);

    /// <summary>Runs after the optimizer step of a phase (weight clipping, EMA, ...).</summary>
    void AfterStep(TrainPhase phase, StepContext context);

    /// <summary>Images to show on the run's web page, in [-1, 1] or as label maps, by the reference's names.</summary>
    IReadOnlyList<(string Name, Tensor Image)> Visuals(TBatch batch);

    /// <summary>Extra state (trick RNGs, adaptive probabilities, EMA weights) saved in the training state.</summary>
    Dictionary<object, object?> ExtraState();

    void LoadExtraState(Dictionary<object, object?> state);
}

/// <summary>Where batches come from: deterministic per (epoch, index), so a run resumes at an exact position.</summary>
public interface IBatchSource<out TBatch>
{
    /// <summary>Number of batches in one epoch.</summary>
    int BatchesPerEpoch { get; }

    /// <summary>Images per batch (iteration counters count images, as the reference).</summary>
    int BatchSize { get; }

    /// <summary>The batches of a 1-based epoch from a 0-based batch index on.</summary>
    IEnumerable<TBatch> Epoch(int epoch, int startIndex);
}
