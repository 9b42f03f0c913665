using GanSharp.Data;
using GanSharp.Models.Spade;
using GanSharp.Runs;
using GanSharp.Training;

namespace GanSharp.Options;

/// <summary>
/// Every option of a SPADE run (<see cref="SpadeRunOptions"/>), composed from the sections' descriptions: data,
/// run folder, networks, then for training losses, optimizer, cadence, evaluation and diagnostics, and the tricks.
/// options.json's and opt.txt's names, resume's messages and the structural check all come from here.
/// </summary>
public static class SpadeOptionCatalog
{
    /// <summary>The options of the run record itself (threads, weights files, evaluation, validation).</summary>
    public static OptionCatalog<SpadeRunOptions> Top { get; } = new();

    public static OptionSpec<SpadeRunOptions, int> Threads { get; } = Top.Add("--threads", x => x.Threads, (x, v) => x with { Threads = v },
        "Threads for libtorch's parallel ops (0 = one per core).");

    public static OptionSpec<SpadeRunOptions, string?> VggWeights { get; } = Top.Add("--vgg-weights", x => x.VggWeights,
        (x, v) => x with { VggWeights = v },
        $"Path of torchvision's vgg19-dcbbb2b4.pth (or a .safetensors copy) for the VGG loss (or set {SpadeRunner.VggEnvironmentVariable}).",
        helpName: "file");

    public static OptionSpec<SpadeRunOptions, int> EvalEvery { get; } = Top.Add("--eval-every", x => x.EvalEvery,
        (x, v) => x with { EvalEvery = v },
        "Compute FID and KID every this many epochs on a fixed subset of the training images (needs --inception-weights; 0 = never).");

    public static OptionSpec<SpadeRunOptions, int> EvalSamples { get; } = Top.Add("--eval-samples", x => x.EvalSamples,
        (x, v) => x with { EvalSamples = v }, "Images in the fixed FID/KID subset.");

    public static OptionSpec<SpadeRunOptions, string?> InceptionWeights { get; } = Top.Add("--inception-weights", x => x.InceptionWeights,
        (x, v) => x with { InceptionWeights = v },
        "Path of pytorch-fid's pt_inception-2015-12-05-6726825d.pth (or a .safetensors copy) for --eval-every (or set "
        + "GANSHARP_INCEPTION_WEIGHTS).", helpName: "file");

    public static OptionSpec<SpadeRunOptions, string?> ValLabelDir { get; } = Top.Add("--val-label-dir", x => x.ValLabelDir,
        (x, v) => x with { ValLabelDir = v },
        "Held-out label maps (e.g. val_label) for validation losses (val/L1, val/VGG) and D's accuracy on held-out photos; with "
        + "--val-image-dir.", helpName: "dir");

    public static OptionSpec<SpadeRunOptions, string?> ValImageDir { get; } = Top.Add("--val-image-dir", x => x.ValImageDir,
        (x, v) => x with { ValImageDir = v }, "The held-out photos paired with --val-label-dir (e.g. val_img).", helpName: "dir");

    public static OptionSpec<SpadeRunOptions, string?> ValInstanceDir { get; } = Top.Add("--val-instance-dir", x => x.ValInstanceDir,
        (x, v) => x with { ValInstanceDir = v },
        "Held-out instance maps (e.g. val_inst), needed when training uses instance maps.", helpName: "dir");

    public static OptionSpec<SpadeRunOptions, int> ValEvery { get; } = Top.Add("--val-every", x => x.ValEvery,
        (x, v) => x with { ValEvery = v },
        "Validate every this many iterations, at the next log step (0 = never; on whenever --val-label-dir is given).");

    public static OptionSpec<SpadeRunOptions, int> ValSamples { get; } = Top.Add("--val-samples", x => x.ValSamples,
        (x, v) => x with { ValSamples = v },
        "Held-out pairs validated (the first in file order), and as many training pairs for D's training-side accuracy.");

    public static OptionSpec<SpadeRunOptions, int> DiversitySamples { get; } = Top.Add("--diversity-samples", x => x.DiversitySamples,
        (x, v) => x with { DiversitySamples = v },
        "Fixed training label maps whose fakes' spread is logged as diversity at every log step, for the mode-collapse check "
        + "(with --use-vae also across this many z; 0 = off).");

    /// <summary>The data options inside a run.</summary>
    public static OptionCatalog<SpadeRunOptions> Data { get; } =
        DataOptionSpecs.Catalog.In<SpadeRunOptions>("data", r => r.Data, (r, d) => r with { Data = d });

    /// <summary>The run-folder options of train and test.</summary>
    public static OptionCatalog<SpadeRunOptions> Folder { get; } =
        RunOptionSpecs.Folder.In<SpadeRunOptions>("run", r => r.Run, (r, v) => r with { Run = v });

    /// <summary>The networks' options.</summary>
    public static OptionCatalog<SpadeRunOptions> Model { get; } =
        ModelOptionSpecs.Catalog.In<SpadeRunOptions>("model", r => r.Model, (r, m) => r with { Model = m });

    /// <summary>The tricks, which train replaces as a whole on resume when any is given.</summary>
    public static OptionCatalog<SpadeRunOptions> Tricks { get; } =
        TricksOptionSpecs.Catalog.In<SpadeRunOptions>("tricks", r => r.Tricks, (r, t) => r with { Tricks = t });

    /// <summary>The options of <c>gansharp test</c>: data, run folder, threads and networks (the rest is the checkpoint's).</summary>
    public static OptionCatalog<SpadeRunOptions> Test { get; } = Data + Folder + [Threads] + Model;

    /// <summary>The options of <c>gansharp train</c> besides the tricks.</summary>
    public static OptionCatalog<SpadeRunOptions> Train { get; } = Data + Folder + [Threads] + Model
        + LossOptionSpecs.Catalog.In<SpadeRunOptions>("loss", r => r.Loss, (r, l) => r with { Loss = l })
        + [VggWeights]
        + OptimOptionSpecs.Catalog.In<SpadeRunOptions>("optim", r => r.Optim, (r, o) => r with { Optim = o })
        + RunOptionSpecs.Cadence.In<SpadeRunOptions>("run", r => r.Run, (r, v) => r with { Run = v })
        + Top.Where(s => s != Threads && s != VggWeights);

    /// <summary>Every option of a SPADE run, tricks included.</summary>
    public static OptionCatalog<SpadeRunOptions> All { get; } = Train + Tricks;

    /// <summary>
    /// The record a SPADE command line starts from: the data defaults of training or testing, the reference's model,
    /// SPADE's run defaults.
    /// </summary>
    public static SpadeRunOptions Defaults(bool isTrain) => new()
    {
        Data = DataOptions.Create("", "", isTrain),
        Model = new SpadeModelOptions(),
        Run = RunOptions.Spade,
    };
}
