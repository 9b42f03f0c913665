using System.CommandLine;
using System.Globalization;
using GanSharp.Cli.Options;
using GanSharp.Data;
using GanSharp.Data.Tools;
using GanSharp.Models.Spade;
using GanSharp.Options;
using GanSharp.Planning;
using Spectre.Console;

namespace GanSharp.Cli.Commands;

/// <summary><c>gansharp plan</c>: parameters, memory, time and a verdict before any training starts.</summary>
public static class PlanCommand
{
    public static Command Create()
    {
        // Train's own options (data facts, batch size, networks) by train's names, with train's defaults.
        var spade = new CatalogOptions<SpadeRunOptions>(PlanOptions.Catalog, SpadeOptionCatalog.Defaults(isTrain: true));
        var size = new Option<int?>("--dataset-size")
        {
            Description = "Training pairs, for the whole-training time (read from --label-dir "
            + "when given).", HelpName = "n"
        };
        var epochs = new Option<int>("--epochs")
        {
            Description = "Training epochs (the reference's niter + niter_decay).",
            DefaultValueFactory = _ => new PlanOptions().Epochs,
        };
        var memory = new Option<double?>("--memory-gb")
        {
            Description = "Memory available for training; reports the largest batch that "
            + "fits.", HelpName = "gb"
        };
        var scene = new Option<string>("--scene")
        {
            Description = "auto, texture or street: what the images show, when no --label-dir "
            + "says it.", DefaultValueFactory = _ => "auto"
        };
        scene.AcceptOnlyFromAmong("auto", "texture", "street");
        var ranks = new Option<int>("--ranks")
        {
            Description = "Machines (mpirun ranks, one per machine like this one) to project a data-parallel training onto.",
            DefaultValueFactory = _ => 1, HelpName = "k"
        };
        var bandwidth = new Option<double>("--bandwidth-gbps")
        {
            Description = "Network bandwidth between the machines, Gb/s (10 = 10 Gigabit Ethernet), for --ranks.",
            DefaultValueFactory = _ => 10, HelpName = "b"
        };
        // Hidden: a child process measures one probe, so its peak RSS is its own.
        var probe = new Option<int?>("--probe-crop") { Hidden = true };
        var cmd = new Command("plan", "Estimate parameters, memory and time of a GauGAN training on this machine, and say whether GauGAN "
            + "suits the data and budget.");
        spade.AddTo(cmd);
        foreach (var o in new Option[] { size, epochs, memory, scene, ranks, bandwidth, probe })
            cmd.Options.Add(o);
        cmd.SetGuardedAction((parse, _) =>
        {
            var run = spade.Bind(parse, SpadeOptionCatalog.Defaults(isTrain: true));
            var options = new PlanOptions
            {
                Data = run.Data, Model = run.Model,
                DatasetSize = parse.GetValue(size), Epochs = parse.GetValue(epochs), MemoryGb = parse.GetValue(memory),
            };
            options.Validate();
            RankPlanner.Check(options.BatchSize, parse.GetValue(ranks), parse.GetValue(bandwidth));
            if (parse.GetValue(probe) is int probeCrop)
            {
                Console.WriteLine(Planner.FormatProbeLine(Planner.Probe(options, probeCrop)));
                return ExitCodes.Ok;
            }

            AuditResult? audit = null;
            if (options.Data.LabelDir.Length > 0)
            {
                if (options.Data.ImageDir.Length == 0)
                    throw new GanSharpException(ErrorKind.Usage,
                        $"{DataOptionSpecs.LabelDir.Flag} needs {DataOptionSpecs.ImageDir.Flag} too: the audit pairs labels with photos.");
                var data = DataOptions.Create(options.Data.LabelDir, options.Data.ImageDir, isTrain: true) with
                {
                    LabelNc = options.Data.LabelNc,
                    ContainDontcareLabel = options.Data.ContainDontcareLabel,
                    NoInstance = true,
                    PreprocessMode = PreprocessMode.None,
                };
                AnsiConsole.Status().Start("Auditing the data", _ => audit = DataAudit.Run(new AuditOptions { Data = data }));
                options = options with { DatasetSize = options.DatasetSize ?? audit!.Pairs };
            }

            string self = Environment.ProcessPath!;
            ProbeMeasurement Run(int c)
            {
                var args = new List<string> { "plan" };
                args.AddRange(ProbeArgs(run));
                args.Add("--probe-crop");
                args.Add(c.ToString(CultureInfo.InvariantCulture));
                return Planner.ProbeInChild(self, args);
            }
            ParameterCounts counts = null!;
            ProbeMeasurement small = null!, large = null!;
            AnsiConsole.Status().Start("Measuring", ctx =>
            {
                var (smallCrop, largeCrop) = Planner.ProbeCropsFor(options);
                ctx.Status($"Measuring {Planner.WarmupIterations + Planner.TimedIterations} iterations at crop {smallCrop}");
                small = Run(smallCrop);
                ctx.Status($"Measuring {Planner.WarmupIterations + Planner.TimedIterations} iterations at crop {largeCrop}");
                large = Run(largeCrop);
                ctx.Status("Counting parameters");
                counts = Planner.CountParameters(options);
            });
            var e = Planner.Estimate(options, counts, small, large);

            var table = new Table().AddColumns("", "estimate");
            table.AddRow("parameters G / D / E", $"{counts.Generator:N0} / {counts.Discriminator:N0} / {counts.Encoder:N0}");
            table.AddRow("training size", $"{options.CropSize}x{options.HeightFor(options.CropSize)}, batch {options.BatchSize}");
            table.AddRow("measured probes", $"crop {small.Crop}: {small.SecondsPerIteration:F2} s/it, {small.PeakMb:F0} MB; crop "
                + $"{large.Crop}: {large.SecondsPerIteration:F2} s/it, {large.PeakMb:F0} MB (training peaks; building peaked at "
                    + $"{e.BuildPeakMb:F0} MB)");
            table.AddRow("memory per example (activations)", $"{e.MbPerExample:N0} MB");
            table.AddRow("peak memory (batch)", $"{e.PeakMb:N0} MB ({e.FixedMb:N0} MB fixed: runtime, weights, gradients, Adam; "
                + $"{e.MbPerExample * options.BatchSize:N0} MB activations)");
            table.AddRow("time per iteration", $"{e.SecondsPerIteration:F2} s");
            if (e.TotalHours is double h) table.AddRow("whole training", $"{e.Iterations:N0} iterations, {h:F1} h ({h / 24:F1} days)");
            if (e.LargestBatch is int fit) table.AddRow($"largest batch in {options.MemoryGb:G} GB", fit.ToString(CultureInfo.InvariantCulture));
            else if (options.MemoryGb is double gb) table.AddRow($"largest batch in {gb:G} GB", "unknown: the probes' memory did not grow "
                + "with size (noise); rerun on a quieter machine");
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine("[grey]Without the VGG loss (--no-vgg-loss); the VGG-19 network adds about 550 MB of weights and its "
                + "activations. Times are for this machine at its present load.[/]");
            var lines = Planner.Verdict(e, audit, Enum.Parse<SceneKind>(parse.GetValue(scene)!, ignoreCase: true)).ToList();
            if (parse.GetValue(ranks) > 1) lines.AddRange(WriteRanks(RankPlanner.Project(e, parse.GetValue(ranks), parse.GetValue(bandwidth))));
            foreach (var line in lines) AnsiConsole.MarkupLineInterpolated($"- {line}");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static IReadOnlyList<string> WriteRanks(RankProjection p)
    {
        var table = new Table().AddColumns("", $"{p.Ranks} ranks at {p.BandwidthGbps:G} Gb/s");
        table.AddRow("computing per iteration (batch / ranks per rank)", $"{p.ComputeSeconds:F2} s");
        table.AddRow("gradient allreduce per iteration", $"{p.AllreduceBytes / 1e6:N0} MB per rank, {p.AllreduceSeconds:F2} s");
        table.AddRow("time per iteration", $"{p.StepSeconds:F2} s ({p.OneMachineSeconds:F2} s on one machine)");
        if (p.EpochHours is double h) table.AddRow("time per epoch", $"{h:F2} h");
        AnsiConsole.Write(table);
        return RankPlanner.Verdict(p);
    }

    // The child process measures the same network: every option of the plan that differs from train's default.
    private static IEnumerable<string> ProbeArgs(SpadeRunOptions run)
    {
        var defaults = SpadeOptionCatalog.Defaults(isTrain: true);
        foreach (var spec in PlanOptions.Catalog)
            if (spec.TextOf(run) != spec.TextOf(defaults))
                foreach (var token in spec.Arguments(run)) yield return token;
    }
}
