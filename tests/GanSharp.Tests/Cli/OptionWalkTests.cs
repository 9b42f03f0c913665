using System.CommandLine;
using System.Text.Json;
using GanSharp.Cli;
using GanSharp.Cli.Options;
using GanSharp.Models.Spade;
using GanSharp.Options;
using GanSharp.Planning;
using GanSharp.Runs;
using GanSharp.Training;
using GanSharp.Training.Tricks;

namespace GanSharp.Tests.Cli;

/// <summary>
/// Walks every described option of train, test, train-family and plan, generated from the catalogues so a new option
/// is walked without touching this file: a non-default value typed by the kebab flag and by the reference's name lands
/// in the record, is in options.json and opt.txt, and survives resume (not typed: the checkpoint's; typed otherwise:
/// refused naming the flag when structural, the command line's when not).
/// </summary>
public class OptionWalkTests
{
    [Fact]
    public void EveryTrainOptionParsesPersistsAndResumes()
    {
        var spade = new SpadeOptionsBinder(training: true);
        var tricks = new TricksOptionsBinder();
        var cmd = new Command("train");
        spade.AddTo(cmd);
        tricks.AddTo(cmd);
        int walked = WalkSpade("train", SpadeOptionCatalog.All, isTrain: true, p =>
        {
            var (o, given) = spade.Bind(p);
            return (tricks.BindInto(p, o, given), given);
        }, cmd);
        Assert.True(walked > 90, $"only {walked} train options walked");
    }

    [Fact]
    public void EveryTestOptionParsesPersistsAndResumes()
    {
        var spade = new SpadeOptionsBinder(training: false);
        var cmd = new Command("test");
        spade.AddTo(cmd);
        int walked = WalkSpade("test", SpadeOptionCatalog.Test, isTrain: false, spade.Bind, cmd);
        Assert.True(walked > 30, $"only {walked} test options walked");
    }

    [Fact]
    public void EveryTrainFamilyOptionParsesAndLandsInItsRecord()
    {
        var family = new FamilyOptionsBinder();
        var tricks = new TricksOptionsBinder();
        var cmd = new Command("train-family");
        family.AddTo(cmd);
        tricks.AddTo(cmd);
        int walked = 0;
        foreach (var spec in FamilyOptionSpecs.Catalog)
        {
            walked += Walk("train-family", spec, FamilyRunOptions.Default, cmd, family.Bind, (value, bound) =>
            {
                // options.json of a family run holds the family record as it was typed.
                var json = JsonDocument.Parse(FamilyRunner.OptionsJson(bound, new TricksOptions())).RootElement.GetProperty("family");
                var read = JsonSerializer.Deserialize<FamilyRunOptions>(json.GetRawText(), FamilyJson)!;
                Assert.True(spec.TextOf(read) == spec.TextOf(value), $"{spec.Flag}: options.json gives back {spec.TextOf(read)}");
            });
        }
        foreach (var spec in TricksOptionSpecs.Catalog)
        {
            walked += Walk("train-family", spec, new TricksOptions(), cmd, tricks.Bind, (value, bound) =>
            {
                var json = JsonDocument.Parse(FamilyRunner.OptionsJson(FamilyRunOptions.Default, bound)).RootElement.GetProperty("tricks");
                var read = JsonSerializer.Deserialize<TricksOptions>(json.GetRawText(), FamilyJson)!;
                Assert.True(spec.TextOf(read) == spec.TextOf(value), $"{spec.Flag}: options.json gives back {spec.TextOf(read)}");
            });
        }
        foreach (var spec in RunOptionSpecs.Folder.Concat(RunOptionSpecs.Cadence))
            walked += Walk("train-family", spec, RunOptions.Family, cmd, family.BindRun, (_, _) => { });
        Assert.True(walked > 55, $"only {walked} train-family options walked");
    }

    [Fact]
    public void EveryPlanOptionParsesAndLandsInThePlan()
    {
        var defaults = SpadeOptionCatalog.Defaults(isTrain: true);
        var plan = new CatalogOptions<SpadeRunOptions>(PlanOptions.Catalog, defaults);
        var cmd = new Command("plan");
        plan.AddTo(cmd);
        int walked = 0;
        foreach (var spec in PlanOptions.Catalog)
            walked += Walk("plan", spec, defaults, cmd, p => plan.Bind(p, defaults), (_, _) => { });
        Assert.True(walked > 15, $"only {walked} plan options walked");
        // The plan's own spellings of before are train's names or their aliases.
        var parse = cmd.Parse("--num-d 3 --n-layers-d 2 --label-nc 7 --crop-size 128 --no-instance --batchSize 2");
        Assert.Empty(parse.Errors);
        var run = plan.Bind(parse, defaults);
        Assert.Equal((3, 2, 7, 128, true, 2),
            (run.Model.NumD, run.Model.NLayersD, run.Data.LabelNc, run.Model.CropSize, run.Model.NoInstance, run.Data.BatchSize));
    }

    [Fact]
    public void EveryStructuralOptionIsStructuralForResumeAndNoOtherDescribedOneIs()
    {
        foreach (var spec in SpadeOptionCatalog.All)
        {
            bool expected = spec.Structural || spec.FlatName.StartsWith("model.", StringComparison.Ordinal);
            Assert.True(SpadeRunOptions.IsStructural(spec.FlatName) == expected, spec.FlatName);
        }
        Assert.True(SpadeRunOptions.IsStructural("loss.no_gan_feat_loss"));
        Assert.False(SpadeRunOptions.IsStructural("loss.lambda_vgg"));
    }

    private static readonly JsonSerializerOptions FamilyJson = new()
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    private static int WalkSpade(string verb, IEnumerable<IOptionSpec<SpadeRunOptions>> specs, bool isTrain,
        Func<ParseResult, (SpadeRunOptions Options, HashSet<string> Given)> bind, Command cmd)
    {
        var defaults = SpadeOptionCatalog.Defaults(isTrain);
        int walked = 0;
        foreach (var spec in specs)
        {
            walked += Walk(verb, spec, defaults, cmd, p =>
            {
                var (o, given) = bind(p);
                Assert.True(given.Contains(spec.FlatName), $"{verb} {spec.Flag}: not marked as typed ({spec.FlatName})");
                return o;
            }, (value, bound) => PersistsAndResumes(verb, spec, defaults, bound));
        }
        return walked;
    }

    private static void PersistsAndResumes(string verb, IOptionSpec<SpadeRunOptions> spec, SpadeRunOptions defaults, SpadeRunOptions saved)
    {
        string want = spec.TextOf(saved);
        // options.json: the flat name is there and reads back.
        var flat = saved.Flatten();
        Assert.True(flat.ContainsKey(spec.FlatName), $"{verb} {spec.Flag}: options.json has no {spec.FlatName}");
        var read = SpadeRunOptions.FromJson(saved.ToJson(), "options.json");
        Assert.True(spec.TextOf(read) == want, $"{verb} {spec.Flag}: options.json gives back '{spec.TextOf(read)}', not '{want}'");
        // opt.txt: a line of its own with the value.
        var line = saved.ToOptText(defaults).Split('\n').Select(l => l.Split(": ", 2)).FirstOrDefault(p => p[0].Trim() == spec.FlatName);
        Assert.True(line is not null, $"{verb} {spec.Flag}: opt.txt has no line {spec.FlatName}");
        Assert.True(line![1].Split('\t')[0].Trim() == flat[spec.FlatName], $"{verb} {spec.Flag}: opt.txt says '{line[1]}'");

        // Resume without the option: the checkpoint's value.
        var kept = SpadeRunOptions.Merge(defaults, new HashSet<string>(), saved, "ck", _ => false);
        Assert.True(spec.TextOf(kept) == want, $"{verb} {spec.Flag}: resume without it gives '{spec.TextOf(kept)}', not the checkpoint's '{want}'");
        // Resume with another value: refused by name when structural, else the command line's.
        var typed = new HashSet<string> { spec.FlatName };
        if (SpadeRunOptions.IsStructural(spec.FlatName))
        {
            var e = Assert.Throws<GanSharpException>(() => SpadeRunOptions.Merge(defaults, typed, saved, "ck", _ => false));
            Assert.StartsWith($"{spec.Flag} is ", e.Message, StringComparison.Ordinal);
            Assert.Contains($"drop {spec.Flag} (its value comes from the checkpoint)", e.Message, StringComparison.Ordinal);
        }
        else
        {
            var merged = SpadeRunOptions.Merge(defaults, typed, saved, "ck", _ => false);
            Assert.True(spec.TextOf(merged) == spec.TextOf(defaults), $"{verb} {spec.Flag}: a typed value did not win over the checkpoint's");
        }
    }

    /// <summary>Types a non-default value by each spelling; returns 1 when the option was walked.</summary>
    private static int Walk<TRecord>(string verb, IOptionSpec<TRecord> spec, TRecord defaults, Command cmd, Func<ParseResult, TRecord> bind,
        Action<TRecord, TRecord> check)
    {
        var (value, tokens) = spec.Accept(new NonDefault<TRecord>(defaults));
        Assert.True(spec.TextOf(value) != spec.TextOf(defaults), $"{verb} {spec.Flag}: no non-default value found");
        var real = Program.BuildRoot().Subcommands.Single(c => c.Name == verb);
        Assert.True(real.Options.Any(o => o.Name == spec.Flag && spec.Aliases.All(o.Aliases.Contains)), $"{verb} has no {spec.Flag} with "
            + $"its aliases");
        var spellings = new List<string> { spec.Flag };
        if (spec.Reference is not null) spellings.Add("--" + spec.Reference);
        foreach (var spelling in spellings)
        {
            string[] args = [spelling, .. tokens];
            var parse = cmd.Parse(args);
            Assert.True(parse.Errors.Count == 0, $"{verb} {string.Join(' ', args)}: {string.Join("; ", parse.Errors.Select(e => e.Message))}");
            Assert.Empty(real.Parse(args).Errors);
            var bound = bind(parse);
            Assert.True(spec.TextOf(bound) == spec.TextOf(value), $"{verb} {string.Join(' ', args)} gives '{spec.TextOf(bound)}'");
            check(value, bound);
        }
        return 1;
    }

    // A value other than the default, as a record and as the tokens after the flag.
    private sealed class NonDefault<TRecord>(TRecord defaults) : IOptionVisitor<TRecord, (TRecord, string[])>
    {
        public (TRecord, string[]) Visit<T>(OptionSpec<TRecord, T> spec)
        {
            object? d = spec.DefaultIn(defaults);
            if (spec.Text.Choices is { } choices)
            {
                string c = choices.First(c => !Equals(spec.Text.Parse(c), d));
                return (spec.Set(defaults, spec.Text.Parse(c)), [c]);
            }
            object v = d switch
            {
                bool b => !b,
                int i => i + 3,
                long l => l + 3,
                double x => x + 0.25,
                string s => s.Length == 0 ? "walked" : s + "-walked",
                null when typeof(T) == typeof(int?) => 7,
                null when typeof(T) == typeof(double?) => 0.375,
                null => "walked",
                _ => throw new InvalidOperationException($"{spec.Flag}: no value to walk for {typeof(T)}"),
            };
            var record = spec.Set(defaults, (T)v);
            return (record, v is bool on ? (on ? [] : ["false"]) : [spec.TextOf(record)]);
        }
    }
}
