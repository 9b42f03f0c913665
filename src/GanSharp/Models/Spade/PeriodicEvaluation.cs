using GanSharp.Options;
using GanSharp.Data;
using GanSharp.Evaluation;
using GanSharp.Reporting;
using GanSharp.Runtime;
using GanSharp.Training;
using static TorchSharp.torch;

namespace GanSharp.Models.Spade;

/// <summary>
/// FID and KID every N epochs on a fixed subset of the training set, reported as <c>FID</c> and <c>KID</c> statistics
/// (so the first-aid kit's metric-jump detector sees them). The generator runs in eval mode, which changes no state,
/// so evaluating does not disturb exact resume.
/// </summary>
internal sealed class PeriodicEvaluation : IDisposable
{
    private readonly SpadeRunOptions _options;
    private readonly SpadeModel _model;
    private readonly TrainingEvaluator _evaluator;
    private readonly Tensor _semantics;
    private readonly Tensor _images;

    private PeriodicEvaluation(SpadeRunOptions options, SpadeModel model, TrainingEvaluator evaluator, Tensor semantics, Tensor images)
    {
        _options = options;
        _model = model;
        _evaluator = evaluator;
        _semantics = semantics;
        _images = images;
    }

    public static PeriodicEvaluation Create(SpadeRunOptions options, SpadeModel model, Action<string> notice)
    {
        string path = InceptionWeights.Resolve(options.InceptionWeights)
            ?? throw new GanSharpException(ErrorKind.Usage,
                $"{SpadeOptionCatalog.EvalEvery.Flag} needs pytorch-fid's pt_inception-2015-12-05-6726825d.pth: pass "
                    + $"{SpadeOptionCatalog.InceptionWeights.Flag} PATH or set " +
                    $"GANSHARP_INCEPTION_WEIGHTS, or drop {SpadeOptionCatalog.EvalEvery.Flag}.");
        if (options.EvalSamples < 2)
            throw new GanSharpException(ErrorKind.Usage, $"{SpadeOptionCatalog.EvalSamples.Flag} {options.EvalSamples} is too small: FID "
                + "needs at least 2 images (64 or " +
                "more is sensible).");
        var extractor = new InceptionFeatureExtractor(InceptionWeights.LoadPretrained(path));
        // A fixed subset: the first images in file order, with test-time preprocessing (no flip, no random crop).
        var data = options.Data with
        {
            IsTrain = false,
            NoFlip = true,
            SerialBatches = true,
            MaxDatasetSize = options.EvalSamples,
            NoInstance = options.Model.NoInstance
        };
        var dataset = SpadeDataset.Open(data);
        var sems = new List<Tensor>();
        var imgs = new List<Tensor>();
        var reals = new List<RgbImage>();
        foreach (var batch in new SpadeLoader(dataset).ReadEpoch(new LoaderPosition(1, 0)))
        {
            // The loader's threads are still decoding: see GcQuiet.
            using (batch)
            using (GcQuiet.Iteration())
            {
                sems.Add(batch.Semantics.clone());
                imgs.Add(batch.Image.clone());
                for (int i = 0; i < batch.Image.shape[0]; i++) reals.Add(Visuals.ToRgb(batch.Image[i].unsqueeze(0)));
            }
        }
        var evaluator = new TrainingEvaluator(extractor, reals);
        notice($"FID and KID every {options.EvalEvery} epoch(s) on {reals.Count} training images (eval-mode generator, pytorch-fid protocol).");
        var semantics = cat(sems.ToArray());
        var images = cat(imgs.ToArray());
        foreach (var t in sems.Concat(imgs)) t.Dispose();
        return new PeriodicEvaluation(options, model, evaluator, semantics, images);
    }

    public void OnEpochEnd(int epoch, StatsCollector stats)
    {
        if (epoch % _options.EvalEvery != 0) return;
        using var scope = NewDisposeScope();
        _model.Eval();
        try
        {
            var fakes = new List<Tensor>();
            for (long i = 0; i < _semantics.shape[0]; i += 8)
            {
                long n = Math.Min(8, _semantics.shape[0] - i);
                fakes.Add(_model.Generate(_semantics.narrow(0, i, n), image: _model.Options.UseVae ? _images.narrow(0, i, n) : null));
            }
            var (fid, kid) = _evaluator.Score(cat(fakes.ToArray()), seed: 0, kidSubsetSize: (int)Math.Min(1000, _semantics.shape[0]));
            stats.Report("FID", fid);
            stats.Report("KID", kid.Mean);
        }
        finally
        {
            _model.Train(true);
        }
    }

    public void Dispose()
    {
        _evaluator.Dispose();
        _semantics.Dispose();
        _images.Dispose();
    }
}
