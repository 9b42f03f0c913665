using System.CommandLine;
using GanSharp.Data;
using GanSharp.Interop.NVlabs;
using GanSharp.Models.Spade;
using GanSharp.Options;

namespace GanSharp.Cli.Options;

/// <summary>
/// The NVlabs SPADE options that have no GanSharp counterpart of their own, so that a reference command line runs
/// unchanged: <c>--dataset_mode</c> brings that mode's defaults (and with <c>--dataroot</c> the coco folder layout),
/// options whose only value GanSharp builds are accepted with that value and refused with another, and options that
/// change nothing here are accepted with a note saying so.
/// </summary>
public sealed class ReferenceCompatBinder
{
    private readonly bool _isTrain;
    private readonly Option<string?> _datasetMode = new("--dataset_mode", "--dataset-mode")
    {
        Description = "The reference's data set mode: custom (--label-dir/--image-dir), coco (--dataroot with train_label, train_img, "
            + "train_inst), ade20k, cityscapes or facades; brings that mode's defaults (label_nc, crop, aspect ratio, ...).",
        HelpName = "mode",
    };
    private readonly Option<string?> _dataroot = new("--dataroot")
    {
        Description = "With --dataset_mode coco: the folder holding "
        + "<phase>_label, <phase>_img and <phase>_inst.", HelpName = "dir"
    };
    private readonly Option<string?> _phase = new("--phase")
    {
        Description = "With --dataroot: which split to read (train; test reads "
        + "val, as the reference).", HelpName = "phase"
    };
    private readonly Option<string?> _gpuIds = new("--gpu_ids", "--gpu-ids")
    {
        Description = "Accepted for reference command lines; "
        + "GanSharp runs on the CPU.", HelpName = "ids"
    };
    private readonly Option<int?> _howMany = new("--how_many", "--how-many")
    {
        Description = $"Synthesize only the first this many label "
        + $"maps (the same as {DataOptionSpecs.MaxDatasetSize.Flag}).", HelpName = "count"
    };
    private readonly List<(Option<string?> Option, string Only, string What)> _fixed = [];
    private readonly List<(Option Option, string Why)> _inert = [];

    public ReferenceCompatBinder(bool isTrain)
    {
        _isTrain = isTrain;
        Fixed("--model", "pix2pix", "the pix2pix model");
        Fixed("--netG", "spade", "the SPADE generator");
        Fixed("--init_type", "xavier", $"xavier initialisation (its gain is {ModelOptionSpecs.InitVariance.Flag})");
        Fixed("--output_nc", "3", "RGB output");
        if (isTrain)
        {
            Fixed("--netD", "multiscale", "the multiscale discriminator");
            Fixed("--netD_subarch", "n_layer", "n-layer discriminators");
            Fixed("--optimizer", "adam", "Adam");
            Fixed("--D_steps_per_G", "1", $"one D step per G step ({TricksOptionSpecs.DSteps.Flag} and {TricksOptionSpecs.GSteps.Flag} "
                + $"set other ratios)");
        }
        Inert(new Option<int?>("--display_winsize"), "web pages show images at their size");
        Inert(new Option<bool>("--cache_filelist_read"), "GanSharp caches its own folder scans");
        Inert(new Option<bool>("--cache_filelist_write"), "GanSharp caches its own folder scans");
        Inert(new Option<bool>("--load_from_opt_file"), "options always come from the run folder when it has them");
        Inert(new Option<int?>("--nef"), $"the reference's encoder ignores it too (its width is {ModelOptionSpecs.Ngf.Flag})");
        Inert(new Option<bool>("--coco_no_portraits"), "GanSharp reads every pair of the folders");
        if (isTrain)
        {
            Inert(new Option<bool>("--no_html"), "web/index.html is always written");
            Inert(new Option<bool>("--debug"), $"use {RunOptionSpecs.MaxIterations.Flag} for a short run");
        }
    }

    private void Fixed(string name, string only, string what) =>
        _fixed.Add((new Option<string?>(name) { Description = $"Accepted with the value {only}: GanSharp builds {what}.", HelpName = "value" },
            only, what));

    private void Inert(Option option, string why)
    {
        option.Description = $"Accepted for reference command lines; no effect ({why}).";
        _inert.Add((option, why));
    }

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { _datasetMode, _dataroot, _phase, _gpuIds }) command.Options.Add(o);
        if (!_isTrain) command.Options.Add(_howMany);
        foreach (var (o, _, _) in _fixed) command.Options.Add(o);
        foreach (var (o, _) in _inert) command.Options.Add(o);
    }

    /// <summary>
    /// Applies <c>--dataset_mode</c>'s defaults to the data and model options the user did not type (named in
    /// <paramref name="typed"/> by flat name), fills the folders from <c>--dataroot</c>, refuses fixed options with
    /// another value, tells <paramref name="notice"/> what had no effect, and validates the data options.
    /// </summary>
    public SpadeRunOptions Apply(ParseResult parse, SpadeRunOptions options, IReadOnlySet<string> typed, Action<string> notice)
    {
        foreach (var (o, only, what) in _fixed)
        {
            string? v = parse.GetValue(o);
            if (v is not null && v != only)
                throw new GanSharpException(ErrorKind.Usage, $"{o.Name} {v} is not available: GanSharp builds {what}; drop {o.Name} or give {only}.");
        }
        foreach (var (o, why) in _inert)
            if (Given.IsGiven(parse, o)) notice($"{o.Name} has no effect in GanSharp: {why}.");
        string? gpus = parse.GetValue(_gpuIds);
        if (gpus is not null && gpus != "-1")
            notice($"--gpu_ids {gpus}: GanSharp trains on the CPU, with every core ({SpadeOptionCatalog.Threads.Flag} sets how many).");

        var maxSize = SpadeOptionCatalog.Data.ByFlag(DataOptionSpecs.MaxDatasetSize.Flag)!;
        if (!_isTrain && parse.GetValue(_howMany) is { } howMany && !typed.Contains(maxSize.FlatName))
            options = options with { Data = options.Data with { MaxDatasetSize = howMany } };

        string? mode = parse.GetValue(_datasetMode);
        if (mode is null)
        {
            if (parse.GetValue(_dataroot) is not null)
                throw new GanSharpException(ErrorKind.Usage,
                    "--dataroot needs --dataset_mode coco (folders <phase>_label, <phase>_img, <phase>_inst); for any other layout give "
                    + "--label-dir and --image-dir.");
            options.Data.Validate();
            return options;
        }
        // The mode's defaults as the reference resolves them, for every option it sets that was not typed.
        var defaults = ReferenceOptions.ForDatasetMode(mode, _isTrain).ToRunOptions();
        IOptionSpec<SpadeRunOptions>[] modeSets =
        [
            .. new IOptionSpec<DataOptions>[]
            {
                DataOptionSpecs.LabelNc, DataOptionSpecs.ContainDontcareLabel, DataOptionSpecs.NoInstance, DataOptionSpecs.CropSize,
                DataOptionSpecs.LoadSize, DataOptionSpecs.AspectRatio, DataOptionSpecs.PreprocessMode,
            }.Concat(_isTrain ? [DataOptionSpecs.BatchSize] : []).Select(s => SpadeOptionCatalog.Data.ByFlag(s.Flag)!),
            SpadeOptionCatalog.Model.ByFlag(ModelOptionSpecs.NumUpsamplingLayers.Flag)!,
        ];
        foreach (var spec in modeSets)
            if (!typed.Contains(spec.FlatName)) options = spec.CopyValue(defaults, options);

        string? root = parse.GetValue(_dataroot);
        var data = options.Data;
        if (root is not null)
        {
            if (mode != "coco")
                throw new GanSharpException(ErrorKind.Usage,
                    $"--dataroot with --dataset_mode {mode}: GanSharp reads the coco layout (<phase>_label, <phase>_img, <phase>_inst) and plain "
                    + $"folders; give --label-dir and --image-dir for the {mode} data.");
            // As the reference's coco mode: the test phase reads the val split.
            string phase = parse.GetValue(_phase) ?? (_isTrain ? "train" : "test");
            if (phase == "test") phase = "val";
            bool Typed(IOptionSpec<DataOptions> spec) => typed.Contains(SpadeOptionCatalog.Data.ByFlag(spec.Flag)!.FlatName);
            if (!Typed(DataOptionSpecs.LabelDir)) data = data with { LabelDir = Path.Combine(root, phase + "_label") };
            if (!Typed(DataOptionSpecs.ImageDir)) data = data with { ImageDir = Path.Combine(root, phase + "_img") };
            if (!Typed(DataOptionSpecs.InstanceDir) && !data.NoInstance) data = data with { InstanceDir = Path.Combine(root, phase + "_inst") };
        }
        data.Validate();
        return options with { Data = data };
    }
}
