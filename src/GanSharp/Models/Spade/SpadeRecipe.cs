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

    // D(x), D(G(z)) and D's accuracy from the last output of each scale: signs for hinge/w/ls-centred outputs are
    // what separates real from fake, so accuracy counts real > 0 and fake < 0 (0.5 for ls/original after sigmoid).
    private void ReportDiscriminatorOutputs(StepContext context, Tensor[][] predFake, Tensor[][] predReal)
    {
        using var _ = no_grad();
        double threshold = _model.LossOptions.GanMode is Losses.GanMode.Ls ? 0.5 : 0.0;
        var realLast = predReal.Select(s => s[^1].mean()).ToArray();
        var fakeLast = predFake.Select(s => s[^1].mean()).ToArray();
        context.Stats.Report("D(x)", stack(realLast).mean());
        context.Stats.Report("D(G(z))", stack(fakeLast).mean());
        var accReal = stack(predReal.Select(s => s[^1].gt(threshold).to_type(ScalarType.Float32).mean()).ToArray()).mean();
        var accFake = stack(predFake.Select(s => s[^1].le(threshold).to_type(ScalarType.Float32).mean()).ToArray()).mean();
        context.Stats.Report("D_acc/real", accReal);
        context.Stats.Report("D_acc/fake", accFake);
        context.Stats.Report("r_t", stack(predReal.Select(s => s[^1].sign().mean()).ToArray()).mean());
    }

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
