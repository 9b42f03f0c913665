using GanSharp.Data;
using GanSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace GanSharp.Models.Spade;

/// <summary>
/// GauGAN as a recipe: the reference iteration (G step, then D step on a fake regenerated under no_grad with the
/// updated G), Adam with TTUR, and the reference's loss names (KLD, GAN, GAN_Feat, VGG; D_Fake, D_real).
/// </summary>
public sealed class SpadeRecipe : IGanRecipe<SpadeBatch>
{
    private readonly SpadeModel _model;
    private readonly OptimOptions _optim;
    private Tensor? _latestFake;

    public SpadeRecipe(SpadeModel model, OptimOptions optim)
    {
        _model = model;
        _optim = optim;
        var nets = new List<NetworkSlot> { new("G", model.NetG) };
        if (model.NetD != null) nets.Add(new NetworkSlot("D", model.NetD));
        if (model.NetE != null) nets.Add(new NetworkSlot("E", model.NetE));
        Networks = nets;
        var (lrG, lrD) = optim.LearningRatesAt(1);
        var (b1, b2) = optim.Betas;
        Optimizers =
        [
            new OptimizerSlot("G", model.GeneratorParameters().ToList(), OptimizerKind.Adam, lrG, b1, b2),
            new OptimizerSlot("D", model.DiscriminatorParameters().ToList(), OptimizerKind.Adam, lrD, b1, b2),
        ];
        model.Train(true);
    }

    public string Family => "spade";

    public SpadeModel Model => _model;

    public IReadOnlyList<NetworkSlot> Networks { get; }

    public IReadOnlyList<OptimizerSlot> Optimizers { get; }

    public IReadOnlyList<TrainPhase> Phases { get; } = [new("G", "G"), new("D", "D")];

    /// <summary>The loss names of the reference's loss_log.txt.</summary>
    public static bool IsLossName(string name) => name is "KLD" or "GAN" or "GAN_Feat" or "VGG" or "D_Fake" or "D_real";

    public IReadOnlyDictionary<string, double> LearningRates(int epoch)
    {
        var (g, d) = _optim.LearningRatesAt(epoch);
        return new Dictionary<string, double> { ["G"] = g, ["D"] = d };
    }

    public Tensor Loss(TrainPhase phase, SpadeBatch batch, StepContext context)
    {
        if (phase.Name == "G")
        {
            var g = _model.ComputeGeneratorLoss(batch.Semantics, batch.Image);
            foreach (var (name, value) in g.Named) context.Stats.Report(name, value);
            _latestFake?.Dispose();
            _latestFake = g.Fake.detach().MoveToOuterDisposeScope();
            return g.Total();
        }
        var d = _model.ComputeDiscriminatorLoss(batch.Semantics, batch.Image);
        foreach (var (name, value) in d.Named) context.Stats.Report(name, value);
        ReportDiscriminatorOutputs(context, d.PredFake, d.PredReal);
        return d.Total();
    }

    // D's outputs on real and fake (last output of every scale, pooled), reported only when the trainer will log:
    // accuracy, D(x), D(G(z)) and r_t feed the first-aid kit's detectors.
    private void ReportDiscriminatorOutputs(StepContext context, Tensor[][] predFake, Tensor[][] predReal)
    {
        if (!context.IsLogStep) return;
        using var scope = NewDisposeScope();
        var real = cat(predReal.Select(s => s[^1].flatten()).ToArray());
        var fake = cat(predFake.Select(s => s[^1].flatten()).ToArray());
        Diagnostics.DiscriminatorStats.Report(context.Stats, real, fake, LossKind);
    }

    private Diagnostics.DLossKind LossKind => _model.LossOptions.GanMode switch
    {
        Losses.GanMode.Original => Diagnostics.DLossKind.NonSaturating,
        Losses.GanMode.Ls => Diagnostics.DLossKind.LeastSquares,
        Losses.GanMode.W => Diagnostics.DLossKind.Wasserstein,
        _ => Diagnostics.DLossKind.Hinge,
    };

    public void AfterStep(TrainPhase phase, StepContext context)
    {
    }

    public IReadOnlyList<(string Name, Tensor Image)> Visuals(SpadeBatch batch)
    {
        var list = new List<(string, Tensor)> { ("input_label", batch.Label) };
        if (_latestFake is not null) list.Add(("synthesized_image", _latestFake));
        list.Add(("real_image", batch.Image));
        return list;
    }

    public Dictionary<object, object?> ExtraState() => [];

    public void LoadExtraState(Dictionary<object, object?> state)
    {
    }

    public void Dispose()
    {
        _latestFake?.Dispose();
        _model.Dispose();
    }
}

/// <summary>Adapts the prefetching loader to the trainer: trainer epochs and batch indices map to loader positions.</summary>
public sealed class SpadeBatchSource(SpadeLoader loader, CancellationToken cancel) : IBatchSource<SpadeBatch>
{
    public int BatchesPerEpoch => loader.BatchesPerEpoch;

    public int BatchSize => loader.Dataset.Options.BatchSize;

    public IEnumerable<SpadeBatch> Epoch(int epoch, int startIndex) =>
        loader.ReadEpoch(new LoaderPosition(epoch, startIndex * BatchSize), cancel);
}
