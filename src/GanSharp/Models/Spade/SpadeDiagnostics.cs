using GanSharp.Options;
using GanSharp.Data;
using GanSharp.Diagnostics;
using GanSharp.Losses;
using GanSharp.Training;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace GanSharp.Models.Spade;

/// <summary>Fixed pairs a diagnostic evaluates: label maps (one-hot + edges) and their photos.</summary>
/// <param name="Semantics">[N, semantic_nc, H, W] of 0/1 values (kept as bytes: a 150-class map is large in float).</param>
/// <param name="Images">[N, 3, H, W] in [-1, 1].</param>
public sealed record DiagnosticPairs(Tensor Semantics, Tensor Images) : IDisposable
{
    public long Count => Images.shape[0];

    /// <summary>The first <paramref name="n"/> pairs (views that outlive any dispose scope; dispose them as well).</summary>
    public DiagnosticPairs Take(long n) =>
        new(Semantics.narrow(0, 0, n).DetachFromDisposeScope(), Images.narrow(0, 0, n).DetachFromDisposeScope());

    public void Dispose()
    {
        Semantics.Dispose();
        Images.Dispose();
    }

    /// <summary>
    /// Reads the first <paramref name="count"/> pairs of a folder with test-time preprocessing (no flip, the
    /// dataset's deterministic crop), on the calling thread, without touching torch's random generator.
    /// </summary>
    public static DiagnosticPairs Load(DataOptions data, int count)
    {
        // --max-dataset-size, when smaller, bounds the pairs as it bounds training.
        int max = data.MaxDatasetSize is int m ? Math.Min(m, count) : count;
        var options = data with { IsTrain = false, NoFlip = true, SerialBatches = true, MaxDatasetSize = max, NumWorkers = 0, BatchSize = 1 };
        var dataset = SpadeDataset.Open(options);
        var sems = new List<Tensor>();
        var imgs = new List<Tensor>();
        try
        {
            foreach (var batch in new SpadeLoader(dataset).ReadEpoch(new LoaderPosition(1, 0)))
            {
                using (batch)
                {
                    if (imgs.Count > 0 && (batch.Image.shape[2] != imgs[0].shape[2] || batch.Image.shape[3] != imgs[0].shape[3]))
                        throw new GanSharpException(ErrorKind.Data,
                            $"{batch.Paths[0]} is {batch.Image.shape[3]}x{batch.Image.shape[2]} after preprocessing but the first pair of " +
                                $"{data.ImageDir} is {imgs[0].shape[3]}x{imgs[0].shape[2]}: use a cropping or fixed "
                                    + $"{DataOptionSpecs.PreprocessMode.Flag} so that " +
                                "every pair has the training size.");
                    sems.Add(batch.Semantics.to_type(ScalarType.Byte).DetachFromDisposeScope());
                    imgs.Add(batch.Image.clone().DetachFromDisposeScope());
                }
            }
            return new DiagnosticPairs(cat(sems.ToArray()).DetachFromDisposeScope(), cat(imgs.ToArray()).DetachFromDisposeScope());
        }
        finally
        {
            foreach (var t in sems.Concat(imgs)) t.Dispose();
        }
    }
}

/// <summary>
/// SPADE's first-aid statistics, taken at log steps (see <see cref="IDiagnosticRecipe{TBatch}"/>):
/// <list type="bullet">
/// <item><c>diversity</c>: mean pairwise distance of G's fakes for a fixed batch of different training label maps
/// (with the VAE, each with its own fixed z ~ N(0, 1), as at test time without a style photo), against
/// <c>diversity_real</c>, that of their photos (a G that paints every map alike has collapsed).</item>
/// <item>with the VAE, <c>diversity_z</c>: the spread of G(one fixed map, several fixed z) (a G that ignores z).</item>
/// <item>every <c>ValEvery</c> iterations, on the held-out split: <c>val/L1</c> and <c>val/VGG</c> (× lambda_vgg,
/// as the training term) between G(label[, z of E(photo)]) and the photo, D's accuracy on the held-out photos
/// (<c>D_acc_heldout</c>, <c>r_t_heldout</c>) and on as many training photos scored the same way
/// (<c>D_acc_train</c>, <c>r_t_train</c>).</item>
/// </list>
/// Networks run in training mode, as the reference's samples are made (batch statistics, one spectral-norm power
/// iteration), in chunks of the training batch size, and every chunk starts from the buffers training left: they are
/// restored afterwards, so diagnostics change no weight, buffer or random stream of training (z and the VAE's noise
/// are drawn once from a private generator). No tricks (augmentation, instance noise) are applied.
/// </summary>
public sealed class SpadeDiagnostics : IDisposable
{
    /// <summary>Seed of the private generator of the fixed z and VAE noise.</summary>
    public const ulong NoiseSeed = 0x5EAD_1A6;

    private readonly DiagnosticPairs? _diversity;
    private readonly double _diversityReal;
    private readonly Tensor? _diversityZ;
    private readonly Tensor? _zMap;
    private readonly Tensor? _zVectors;
    private readonly DiagnosticPairs? _val;
    private readonly Tensor? _valEps;
    private readonly DiagnosticPairs? _train;
    private readonly Tensor? _trainEps;
    private readonly DiagnosticPairs _trainAll;
    private readonly int _chunk;

    /// <param name="train">
    /// Fixed training pairs: the first <paramref name="diversitySamples"/> give the diversity batch, the first as many as
    /// <paramref name="val"/> holds the training-side D accuracy. Owned.
    /// </param>
    /// <param name="val">Held-out pairs, or null for no validation. Owned.</param>
    /// <param name="diversitySamples">Pairs of <paramref name="train"/> for diversity (0 = none).</param>
    /// <param name="valEvery">Iterations between validations.</param>
    /// <param name="chunk">Samples per forward (the training batch size, so that batch statistics are those of training).</param>
    /// <param name="model">The model's options decide whether z and VAE noise are needed.</param>
    public SpadeDiagnostics(DiagnosticPairs train, DiagnosticPairs? val, int diversitySamples, long valEvery, int chunk, SpadeModelOptions model)
    {
        if (chunk < 1) throw new ArgumentOutOfRangeException(nameof(chunk), chunk, "chunk must be positive");
        _trainAll = train;
        _chunk = chunk;
        using var gen = new Generator(NoiseSeed);
        if (diversitySamples >= 2 && train.Count >= 2)
        {
            long n = Math.Min(diversitySamples, train.Count);
            _diversity = train.Take(n);
            using (var d = SampleDiversity.MeanPairwiseDistance(_diversity.Images)) _diversityReal = d.item<double>();
            if (model.UseVae)
            {
                _diversityZ = randn([n, model.ZDim], generator: gen).DetachFromDisposeScope();
                using var first = _diversity.Semantics.narrow(0, 0, 1);
                _zMap = first.expand(n, -1, -1, -1).contiguous().DetachFromDisposeScope();
                _zVectors = randn([n, model.ZDim], generator: gen).DetachFromDisposeScope();
            }
        }
        if (val is not null && valEvery > 0)
        {
            _val = val;
            _train = train.Take(Math.Min(val.Count, train.Count));
            Schedule = new ValidationSchedule(valEvery);
            if (model.UseVae)
            {
                _valEps = randn([val.Count, model.ZDim], generator: gen).DetachFromDisposeScope();
                _trainEps = randn([_train.Count, model.ZDim], generator: gen).DetachFromDisposeScope();
            }
        }
        else
        {
            val?.Dispose();
        }
    }

    /// <summary>When validation runs; null without a held-out split.</summary>
    public ValidationSchedule? Schedule { get; }

    /// <summary>Builds the diagnostics a run's options ask for; null when they ask for none.</summary>
    public static SpadeDiagnostics? Create(SpadeRunOptions options, Action<string> notice)
    {
        bool validate = options.Validates;
        int trainCount = Math.Max(options.DiversitySamples, validate ? options.ValSamples : 0);
        if (trainCount < 2 && !validate) return null;
        var data = options.Data with { NoInstance = options.Model.NoInstance };
        DiagnosticPairs? val = null;
        if (validate)
        {
            if (!options.Model.NoInstance && options.ValInstanceDir is null)
                throw new GanSharpException(ErrorKind.Usage,
                    $"training uses instance maps, so validation needs them too: pass {SpadeOptionCatalog.ValInstanceDir.Flag} (e.g. "
                        + "val_inst), or train with " +
                        $"{DataOptionSpecs.NoInstance.Flag}.");
            var valData = data with
            {
                LabelDir = options.ValLabelDir!,
                ImageDir = options.ValImageDir!,
                InstanceDir = options.Model.NoInstance ? null : options.ValInstanceDir,
            };
            val = DiagnosticPairs.Load(valData, options.ValSamples);
            var (oh, ow) = options.Model.OutputSize;
            var shape = val.Semantics.shape;
            if (shape[1] != options.Model.SemanticNc || shape[2] != oh || shape[3] != ow)
            {
                val.Dispose();
                throw new GanSharpException(ErrorKind.Data,
                    $"the held-out split gives label maps of {shape[1]} channels at {shape[3]}x{shape[2]} but the model takes " +
                        $"{options.Model.SemanticNc} at {ow}x{oh}: "
                    + $"give {SpadeOptionCatalog.ValLabelDir.Flag} maps with the same {DataOptionSpecs.LabelNc.Flag} and instance maps as "
                    + "training, in a size the preprocessing brings " +
                        "to the crop.");
            }
        }
        DiagnosticPairs train;
        try
        {
            train = DiagnosticPairs.Load(data, trainCount);
        }
        catch
        {
            val?.Dispose();
            throw;
        }
        var diagnostics = new SpadeDiagnostics(train, val, options.DiversitySamples, validate ? options.ValEvery : 0, options.Data.BatchSize,
            options.Model);
        var parts = new List<string>();
        if (diagnostics._diversity is not null)
            parts.Add($"sample diversity of {diagnostics._diversity.Count} fixed training label maps at every log " +
                $"step{(options.Model.UseVae ? " (and across z for one map)" : "")}");
        if (diagnostics._val is not null)
            parts.Add($"validation losses and held-out D accuracy on {diagnostics._val.Count} pairs of {options.ValLabelDir} every " +
                $"{options.ValEvery} iterations");
        if (parts.Count > 0) notice("Diagnostics: " + string.Join("; ", parts) + ".");
        return diagnostics;
    }

    /// <summary>Reports the statistics due at this log step (see the class remarks).</summary>
    public void Report(SpadeModel model, StepContext context, AdversarialLoss lossKind)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        using var state = new BufferSnapshot(model);
        var stats = context.Stats;
        if (_diversity is not null)
        {
            stats.Report("diversity", SampleDiversity.MeanPairwiseDistance(Generate(model, state, _diversity.Semantics, _diversityZ)));
            stats.Report("diversity_real", _diversityReal);
            if (_zMap is not null)
                stats.Report("diversity_z", SampleDiversity.MeanPairwiseDistance(Generate(model, state, _zMap, _zVectors)));
        }
        if (_val is not null && Schedule!.IsDue(context))
        {
            var (l1, vgg, heldOut) = Evaluate(model, state, _val, _valEps, losses: true);
            ValidationStats.Report(stats, "L1", l1!);
            if (vgg is not null) ValidationStats.Report(stats, "VGG", vgg);
            DiscriminatorStats.ReportHeldOut(stats, heldOut, lossKind);
            var (_, _, trained) = Evaluate(model, state, _train!, _trainEps, losses: false);
            DiscriminatorStats.ReportTrainReference(stats, trained, lossKind);
        }
    }

    // G over the label maps, one chunk at a time, each from the training state. [N, 3, H, W]
    private Tensor Generate(SpadeModel model, BufferSnapshot state, Tensor semantics, Tensor? z)
    {
        var parts = new List<Tensor>();
        for (long i = 0; i < semantics.shape[0]; i += _chunk)
        {
            long n = Math.Min(_chunk, semantics.shape[0] - i);
            state.Restore();
            parts.Add(model.NetG.call(semantics.narrow(0, i, n).to_type(ScalarType.Float32), z?.narrow(0, i, n)));
        }
        return parts.Count == 1 ? parts[0] : cat(parts.ToArray());
    }

    // Per chunk: G(label[, z = mu + eps * std of E(photo)]), the losses against the photo, and D on [fake; photo] as a
    // training step sees it; returns the sample-weighted mean L1 and VGG (× lambda_vgg) and D's outputs for the photos.
    private (Tensor? L1, Tensor? Vgg, Tensor RealLogits) Evaluate(SpadeModel model, BufferSnapshot state, DiagnosticPairs pairs, Tensor? eps,
        bool losses)
    {
        Tensor? l1 = null, vgg = null;
        var logits = new List<Tensor>();
        long total = pairs.Count;
        for (long i = 0; i < total; i += _chunk)
        {
            long n = Math.Min(_chunk, total - i);
            state.Restore();
            var sem = pairs.Semantics.narrow(0, i, n).to_type(ScalarType.Float32);
            var real = pairs.Images.narrow(0, i, n);
            Tensor? z = null;
            if (model.NetE is not null)
            {
                var (mu, logvar) = model.NetE.call(real);
                z = eps!.narrow(0, i, n).mul(logvar.mul(0.5).exp()).add(mu);
            }
            var fake = model.NetG.call(sem, z);
            if (losses)
            {
                double w = n / (double)total;
                var l = F.l1_loss(fake, real).mul(w);
                l1 = l1 is null ? l : l1.add(l);
                if (model.Vgg is not null)
                {
                    var v = VggLoss.Compute(model.Vgg, fake, real).mul(model.LossOptions.LambdaVgg * w);
                    vgg = vgg is null ? v : vgg.add(v);
                }
            }
            var (_, predReal) = model.DiscriminatePair(sem, fake, real);
            logits.Add(cat(predReal.Select(s => s[^1].flatten()).ToArray()));
        }
        return (l1, vgg, cat(logits.ToArray()));
    }

    public void Dispose()
    {
        _diversity?.Dispose();
        _train?.Dispose();
        _trainAll.Dispose();
        _val?.Dispose();
        _diversityZ?.Dispose();
        _zMap?.Dispose();
        _zVectors?.Dispose();
        _valEps?.Dispose();
        _trainEps?.Dispose();
    }

    /// <summary>Copies of every buffer of G, D and E (spectral-norm u/v, running statistics), put back on demand and on dispose.</summary>
    private sealed class BufferSnapshot : IDisposable
    {
        private readonly List<(Tensor Live, Tensor Saved)> _buffers = [];

        public BufferSnapshot(SpadeModel model)
        {
            var nets = new nn.Module?[] { model.NetG, model.NetD, model.NetE };
            foreach (var net in nets.OfType<nn.Module>())
                foreach (var b in net.buffers())
                    _buffers.Add((b, b.clone().DetachFromDisposeScope()));
        }

        public void Restore()
        {
            foreach (var (live, saved) in _buffers) live.copy_(saved);
        }

        public void Dispose()
        {
            Restore();
            foreach (var (_, saved) in _buffers) saved.Dispose();
        }
    }
}
