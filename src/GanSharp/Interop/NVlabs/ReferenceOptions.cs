using System.Globalization;
using GanSharp.Data;
using GanSharp.Losses;
using GanSharp.Models.Spade;
using GanSharp.Options;
using GanSharp.Training;

namespace GanSharp.Interop.NVlabs;

/// <summary>
/// The options of an NVlabs SPADE run, resolved as its <c>train.py</c> resolves them: the base and training defaults,
/// the generator's and discriminator's option setters, the <c>--dataset_mode</c> setter, then the command line. Read
/// from a command line (<see cref="FromCommandLine"/>) or from the <c>opt.txt</c> the reference writes into every run
/// folder (<see cref="FromOptText"/>), so that a reference run's checkpoints can be used without retyping its options.
/// </summary>
public sealed class ReferenceOptions
{
    // The reference's store_true options: present means true, they take no value.
    private static readonly HashSet<string> Switches = new(StringComparer.Ordinal)
    {
        "contain_dontcare_label", "serial_batches", "no_flip", "load_from_opt_file", "cache_filelist_write",
        "cache_filelist_read", "no_instance", "use_vae", "no_html", "debug", "tf_log", "continue_train", "no_TTUR",
        "no_ganFeat_loss", "no_vgg_loss", "coco_no_portraits", "no_pairing_check",
    };

    // Reference facts: the reference's base defaults where they differ from GanSharp's (its base options describe COCO
    // at 512 pixels; its TrainOptions set TTUR's betas, which --no_TTUR changes back in Resolve).
    private static readonly Dictionary<string, string> ReferenceOwnDefaults = new(StringComparer.Ordinal)
    {
        ["preprocess_mode"] = "scale_width_and_crop", ["load_size"] = "1024", ["crop_size"] = "512", ["label_nc"] = "182",
        ["max_dataset_size"] = "9223372036854775807", ["nThreads"] = "0", ["beta1"] = "0.0", ["beta2"] = "0.9",
    };

    // Reference facts: its options that GanSharp has no option for (fixed architecture choices, display, data layout).
    private static readonly Dictionary<string, string> ReferenceOnlyDefaults = new(StringComparer.Ordinal)
    {
        ["gpu_ids"] = "0", ["model"] = "pix2pix", ["phase"] = "train", ["output_nc"] = "3", ["dataset_mode"] = "coco",
        ["display_winsize"] = "400", ["netG"] = "spade", ["dataroot"] = "./datasets/cityscapes/", ["init_type"] = "xavier",
        ["nef"] = "16", ["optimizer"] = "adam", ["D_steps_per_G"] = "1", ["netD"] = "multiscale", ["netD_subarch"] = "n_layer",
    };

    // BaseOptions + TrainOptions + the SPADE generator's, multiscale discriminator's and n-layer discriminator's setters:
    // every option GanSharp also has, under its reference name, with GanSharp's default where the two agree (a switch
    // as the reference prints it), then the reference's own defaults above.
    private static readonly Dictionary<string, string> BaseDefaults = DeriveBaseDefaults();

    private static Dictionary<string, string> DeriveBaseDefaults()
    {
        var ours = SpadeOptionCatalog.Defaults(isTrain: true);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var spec in SpadeOptionCatalog.All.Where(s => s.Reference is not null))
            values[spec.Reference!] = spec.ValueType == typeof(bool) ? (spec.TextOf(ours) == "true" ? "True" : "False") : spec.TextOf(ours);
        foreach (var (k, v) in ReferenceOwnDefaults.Concat(ReferenceOnlyDefaults)) values[k] = v;
        return values;
    }

    /// <summary>
    /// What a <c>--dataset_mode</c>'s option setter changes, by the reference's option names (<c>label_nc</c>,
    /// <c>batchSize</c>, ...); the load size differs between training and testing, as in the reference.
    /// </summary>
    private static Dictionary<string, string> DatasetModeDefaults(string mode, bool isTrain)
    {
        string load = isTrain ? "286" : "256";
        return mode switch
        {
            "coco" => new Dictionary<string, string>
            {
                ["preprocess_mode"] = "resize_and_crop", ["load_size"] = load, ["crop_size"] = "256", ["display_winsize"] = "256",
                ["label_nc"] = "182", ["contain_dontcare_label"] = "True", ["cache_filelist_read"] = "True",
                ["cache_filelist_write"] = "True",
            },
            "ade20k" => new Dictionary<string, string>
            {
                ["preprocess_mode"] = "resize_and_crop", ["load_size"] = load, ["crop_size"] = "256", ["display_winsize"] = "256",
                ["label_nc"] = "150", ["contain_dontcare_label"] = "True", ["no_instance"] = "True",
            },
            "cityscapes" => new Dictionary<string, string>
            {
                ["preprocess_mode"] = "fixed", ["load_size"] = "512", ["crop_size"] = "512", ["display_winsize"] = "512",
                ["label_nc"] = "35", ["aspect_ratio"] = "2.0", ["batchSize"] = "16", ["num_upsampling_layers"] = "more",
            },
            "custom" => new Dictionary<string, string>
            {
                ["preprocess_mode"] = "resize_and_crop", ["load_size"] = load, ["crop_size"] = "256", ["display_winsize"] = "256",
                ["label_nc"] = "13",
            },
            "facades" => new Dictionary<string, string>
            {
                ["dataroot"] = "./dataset/facades/", ["preprocess_mode"] = "resize_and_crop", ["load_size"] = load,
                ["crop_size"] = "256", ["display_winsize"] = "256", ["label_nc"] = "13", ["no_instance"] = "True",
            },
            _ => throw new GanSharpException(ErrorKind.Usage,
                $"--dataset_mode {mode} is not one of the reference's (coco, ade20k, cityscapes, custom, facades); GanSharp reads the "
                    + $"custom layout with {DataOptionSpecs.LabelDir.Flag}/{DataOptionSpecs.ImageDir.Flag}."),
        };
    }

    private readonly Dictionary<string, string> _values;
    private readonly string _source;

    private ReferenceOptions(Dictionary<string, string> values, string source)
    {
        _values = values;
        _source = source;
    }

    /// <summary>Every resolved option, by the reference's name (<c>batchSize</c>, <c>norm_G</c>, ...).</summary>
    public IReadOnlyDictionary<string, string> Values => _values;

    /// <summary>Resolves a reference command line (what follows <c>train.py</c>), as <c>TrainOptions().parse()</c> does.</summary>
    /// <param name="commandLine">The arguments, separated by white space.</param>
    /// <param name="source">Where the command line comes from, for messages.</param>
    public static ReferenceOptions FromCommandLine(string commandLine, string source)
    {
        var given = new Dictionary<string, string>(StringComparer.Ordinal);
        var args = commandLine.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
                throw new GanSharpException(ErrorKind.Usage, $"{source}: '{args[i]}' is not an option; the reference's options all start with --.");
            string name = args[i][2..];
            if (Switches.Contains(name)) given[name] = "True";
            else if (i + 1 < args.Length) given[name] = args[++i];
            else throw new GanSharpException(ErrorKind.Usage, $"{source}: --{name} needs a value.");
        }
        return new ReferenceOptions(Resolve(given, isTrain: true), source);
    }

    // Defaults, then what --no_TTUR and the dataset mode change (as the reference), then the options given.
    private static Dictionary<string, string> Resolve(Dictionary<string, string> given, bool isTrain)
    {
        var values = new Dictionary<string, string>(BaseDefaults, StringComparer.Ordinal);
        foreach (var s in Switches) values[s] = "False";
        if (given.ContainsKey("no_TTUR")) { values["beta1"] = "0.5"; values["beta2"] = "0.999"; }
        foreach (var (k, v) in DatasetModeDefaults(given.GetValueOrDefault("dataset_mode", "coco"), isTrain)) values[k] = v;
        foreach (var (k, v) in given) values[k] = v;
        return values;
    }

    /// <summary>
    /// Reads the reference's <c>opt.txt</c> (<c>name: value [default: x]</c> a line, as <c>BaseOptions.save_options</c>
    /// writes it). Options it lacks (older versions of the reference) keep the reference's defaults.
    /// </summary>
    public static ReferenceOptions FromOptText(string text, string source)
    {
        var values = new Dictionary<string, string>(BaseDefaults, StringComparer.Ordinal);
        foreach (var s in Switches) values[s] = "False";
        int read = 0;
        foreach (var raw in text.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            int colon = line.IndexOf(": ", StringComparison.Ordinal);
            if (colon < 0 || line.StartsWith("---", StringComparison.Ordinal)) continue;
            string name = line[..colon].Trim();
            string value = line[(colon + 2)..];
            int comment = value.IndexOf("\t[default:", StringComparison.Ordinal);
            if (comment >= 0) value = value[..comment];
            values[name] = value.Trim();
            read++;
        }
        if (read == 0 || !values.ContainsKey("label_nc"))
            throw new GanSharpException(ErrorKind.Checkpoint, $"{source} holds no options in the reference's 'name: value' layout.");
        return new ReferenceOptions(values, source);
    }

    /// <summary>
    /// Whether <paramref name="text"/> is the reference's opt.txt rather than GanSharp's (whose names have a section:
    /// <c>model.ngf</c>).
    /// </summary>
    public static bool IsReferenceOptText(string text) =>
        text.Split('\n').Any(l => l.TrimStart().StartsWith("label_nc:", StringComparison.Ordinal));

    /// <summary>The options of an NVlabs run folder from its opt.txt; null when there is none or it is GanSharp's.</summary>
    public static ReferenceOptions? TryReadRunFolder(string optTxtPath)
    {
        if (!File.Exists(optTxtPath)) return null;
        string text = File.ReadAllText(optTxtPath);
        return IsReferenceOptText(text) ? FromOptText(text, optTxtPath) : null;
    }

    /// <summary>
    /// What a reference command line of only <c>--dataset_mode <paramref name="mode"/></c> resolves to, at training or
    /// test time (the load size differs).
    /// </summary>
    public static ReferenceOptions ForDatasetMode(string mode, bool isTrain)
    {
        var values = Resolve(new Dictionary<string, string>(StringComparer.Ordinal) { ["dataset_mode"] = mode }, isTrain);
        return new ReferenceOptions(values, "--dataset_mode " + mode);
    }

    // The loader's threads are the machine's choice, not the run's: a reference run's nThreads is not taken over.
    private static readonly HashSet<string> NotAdopted = new(StringComparer.Ordinal) { "nThreads" };

    private string Get(string name) =>
        _values.TryGetValue(name, out var v) ? v : throw new GanSharpException(ErrorKind.Checkpoint, $"{_source} has no {name}.");

    private int Int(string name) =>
        int.TryParse(Get(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v
            : throw new GanSharpException(ErrorKind.Checkpoint, $"{_source}: {name} is '{Get(name)}', which is not a whole number.");

    // The reference's "no limit" is Python's sys.maxsize, beyond an int: GanSharp's no limit is null.
    private int? Limit(string name) =>
        long.TryParse(Get(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > int.MaxValue ? null : Int(name);

    private double Double(string name) =>
        double.TryParse(Get(name), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v
            : throw new GanSharpException(ErrorKind.Checkpoint, $"{_source}: {name} is '{Get(name)}', which is not a number.");

    private bool Bool(string name) => Get(name) switch
    {
        "True" => true,
        "False" => false,
        var v => throw new GanSharpException(ErrorKind.Checkpoint, $"{_source}: {name} is '{v}', not True or False."),
    };

    private T Choice<T>(string name, ValueText<T> text)
    {
        string v = Get(name);
        if (text.Choices!.Contains(v, StringComparer.Ordinal)) return text.Parse(v);
        throw new GanSharpException(ErrorKind.Usage, $"{_source}: {name} is '{v}'; the reference knows {string.Join(", ", text.Choices!)}.");
    }

    // The reference's value of one option, in the type of GanSharp's record.
    private T Value<T>(OptionSpec<SpadeRunOptions, T> spec)
    {
        string name = spec.Reference!;
        if (spec.Text.Choices is not null) return Choice(name, spec.Text);
        object? value = typeof(T) == typeof(int) ? Int(name)
            : typeof(T) == typeof(int?) ? Limit(name)
            : typeof(T) == typeof(double) ? Double(name)
            : typeof(T) == typeof(bool) ? Bool(name)
            : typeof(T) == typeof(string) ? Get(name)
            : throw new InvalidOperationException($"{spec.Flag}: no reading of the reference's {name} as {typeof(T).Name}.");
        return (T)value!;
    }

    private void Require(string name, string value, string what)
    {
        if (Get(name) != value)
            throw new GanSharpException(ErrorKind.Usage, $"{_source} has {name} {Get(name)}; GanSharp builds only the reference's {what} "
                + $"({name} {value}).");
    }

    /// <summary>The generator's, discriminator's and encoder's architecture.</summary>
    public SpadeModelOptions Model => ToRunOptions().Model;

    /// <summary>The loss terms and their weights.</summary>
    public SpadeLossOptions Loss => ToRunOptions().Loss;

    /// <summary>Adam and its schedule (TTUR unless <c>no_TTUR</c>).</summary>
    public OptimOptions Optim => ToRunOptions().Optim;

    /// <summary>
    /// The whole run as GanSharp options: every option of <see cref="SpadeOptionCatalog.Train"/> that has a reference
    /// name takes the reference's value; the rest keep GanSharp's defaults. The reference's <c>dataroot</c> layouts other
    /// than custom have no folder options: give <c>--label-dir</c>/<c>--image-dir</c> for those.
    /// </summary>
    public SpadeRunOptions ToRunOptions()
    {
        Require("model", "pix2pix", "pix2pix model");
        Require("netG", "spade", "SPADE generator");
        Require("netD", "multiscale", "multiscale discriminator");
        Require("netD_subarch", "n_layer", "n-layer discriminators");
        Require("output_nc", "3", "RGB output");
        Require("optimizer", "adam", "Adam optimizer");
        var run = new SpadeRunOptions { Data = new DataOptions { LabelDir = "", ImageDir = "" }, Model = new SpadeModelOptions() };
        foreach (var spec in SpadeOptionCatalog.Train.Where(s => s.Reference is not null && !NotAdopted.Contains(s.Reference)))
            run = spec.Accept(new Adopt(this, run));
        run.Model.Validate();
        run.Loss.Validate();
        return run;
    }

    private sealed class Adopt(ReferenceOptions from, SpadeRunOptions run) : IOptionVisitor<SpadeRunOptions, SpadeRunOptions>
    {
        public SpadeRunOptions Visit<T>(OptionSpec<SpadeRunOptions, T> spec) => spec.Set(run, from.Value(spec));
    }
}
