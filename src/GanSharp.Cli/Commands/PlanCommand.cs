using System.CommandLine;
using System.Globalization;
using GanSharp.Data;
using GanSharp.Data.Tools;
using GanSharp.Planning;
using Spectre.Console;

namespace GanSharp.Cli.Commands;

/// <summary><c>gansharp plan</c>: parameters, memory, time and a verdict before any training starts.</summary>
public static class PlanCommand
{
    public static Command Create()
    {
        var crop = new Option<int>("--crop-size") { Description = "Training crop width (a multiple of 32).", DefaultValueFactory = _ => 256 };
        var aspect = new Option<double>("--aspect-ratio") { Description = "Width / height of the training images.", DefaultValueFactory = _ => 1.0 };
        var ngf = new Option<int>("--ngf") { Description = "Generator filters in the first layer.", DefaultValueFactory = _ => 64 };
        var ndf = new Option<int>("--ndf") { Description = "Discriminator filters in the first layer.", DefaultValueFactory = _ => 64 };
        var numD = new Option<int>("--num-d", "--num_D") { Description = "Discriminator scales.", DefaultValueFactory = _ => 2 };
        var layersD = new Option<int>("--n-layers-d", "--n_layers_D") { Description = "Layers per discriminator.", DefaultValueFactory = _ => 4 };
        var labelNc = new Option<int>("--label-nc", "--label_nc") { Description = "Number of label classes.", DefaultValueFactory = _ => 13 };
        var instance = new Option<bool>("--instance") { Description = "Instance edges are part of the input (one more channel)." };
        var dontcare = new Option<bool>("--contain-dontcare-label") { Description = "Labels use 255 as don't-care (one more channel)." };
        var vae = new Option<bool>("--use-vae", "--use_vae") { Description = "Train with the style encoder (VAE)." };
        var batch = new Option<int>("--batch-size", "--batchSize") { Description = "Examples per iteration.", DefaultValueFactory = _ => 1 };
        var size = new Option<int?>("--dataset-size") { Description = "Training pairs, for the whole-training time (read from --label-dir when given).", HelpName = "n" };
        var epochs = new Option<int>("--epochs") { Description = "Training epochs (the reference's niter + niter_decay).", DefaultValueFactory = _ => 50 };
        var memory = new Option<double?>("--memory-gb") { Description = "Memory available for training; reports the largest batch that fits.", HelpName = "gb" };
        var labelDir = new Option<string?>("--label-dir") { Description = "Audit this label folder (with --image-dir) and judge the data too.", HelpName = "dir" };
        var imageDir = new Option<string?>("--image-dir") { Description = "Photos paired with --label-dir.", HelpName = "dir" };
        var scene = new Option<string>("--scene") { Description = "auto, texture or street: what the images show, when no --label-dir says it.", DefaultValueFactory = _ => "auto" };
        scene.AcceptOnlyFromAmong("auto", "texture", "street");
        // Hidden: a child process measures one probe, so its peak RSS is its own.
        var probe = new Option<int?>("--probe-crop") { Hidden = true };
        var cmd = new Command("plan", "Estimate parameters, memory and time of a GauGAN training on this machine, and say whether GauGAN suits the data and budget.");
        foreach (var o in new Option[] { crop, aspect, ngf, ndf, numD, layersD, labelNc, instance, dontcare, vae, batch, size, epochs, memory, labelDir, imageDir, scene, probe })
            cmd.Options.Add(o);
        cmd.SetGuardedAction((parse, _) =>
        {
            var options = new PlanOptions
            {
                CropSize = parse.GetValue(crop), AspectRatio = parse.GetValue(aspect), Ngf = parse.GetValue(ngf), Ndf = parse.GetValue(ndf),
                NumD = parse.GetValue(numD), NLayersD = parse.GetValue(layersD), LabelNc = parse.GetValue(labelNc), Instance = parse.GetValue(instance),
                ContainDontcareLabel = parse.GetValue(dontcare), UseVae = parse.GetValue(vae), BatchSize = parse.GetValue(batch),
                DatasetSize = parse.GetValue(size), Epochs = parse.GetValue(epochs), MemoryGb = parse.GetValue(memory),
            };
            options.Validate();
            if (parse.GetValue(probe) is int probeCrop)
            {
                Console.WriteLine(Planner.FormatProbeLine(Planner.Probe(options, probeCrop)));
                return ExitCodes.Ok;
            }

            AuditResult? audit = null;
            if (parse.GetValue(labelDir) is string ld)
            {
                string id = parse.GetValue(imageDir)
                    ?? throw new GanSharpException(ErrorKind.Usage, "--label-dir needs --image-dir too: the audit pairs labels with photos.");
                var data = DataOptions.Create(ld, id, isTrain: true) with
                {
                    LabelNc = options.LabelNc, ContainDontcareLabel = options.ContainDontcareLabel, NoInstance = true, PreprocessMode = PreprocessMode.None,
                };
                AnsiConsole.Status().Start("Auditing the data", _ => audit = DataAudit.Run(new AuditOptions { Data = data }));
                options = options with { DatasetSize = options.DatasetSize ?? audit!.Pairs };
            }

            string self = Environment.ProcessPath!;
            ProbeMeasurement Run(int c)
            {
                var args = new List<string> { "plan" };
                args.AddRange(ProbeArgs(options));
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
            table.AddRow("measured probes", $"crop {small.Crop}: {small.SecondsPerIteration:F2} s/it, {small.PeakMb:F0} MB; crop {large.Crop}: {large.SecondsPerIteration:F2} s/it, {large.PeakMb:F0} MB (training peaks; building peaked at {e.BuildPeakMb:F0} MB)");
            table.AddRow("memory per example (activations)", $"{e.MbPerExample:N0} MB");
            table.AddRow("peak memory (batch)", $"{e.PeakMb:N0} MB ({e.FixedMb:N0} MB fixed: runtime, weights, gradients, Adam; {e.MbPerExample * options.BatchSize:N0} MB activations)");
            table.AddRow("time per iteration", $"{e.SecondsPerIteration:F2} s");
            if (e.TotalHours is double h) table.AddRow("whole training", $"{e.Iterations:N0} iterations, {h:F1} h ({h / 24:F1} days)");
            if (e.LargestBatch is int fit) table.AddRow($"largest batch in {options.MemoryGb:G} GB", fit.ToString(CultureInfo.InvariantCulture));
            else if (options.MemoryGb is double gb) table.AddRow($"largest batch in {gb:G} GB", "unknown: the probes' memory did not grow with size (noise); rerun on a quieter machine");
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine("[grey]Without the VGG loss (--no-vgg-loss); the VGG-19 network adds about 550 MB of weights and its activations. Times are for this machine at its present load.[/]");
            foreach (var line in Planner.Verdict(e, audit, Enum.Parse<SceneKind>(parse.GetValue(scene)!, ignoreCase: true)))
                AnsiConsole.MarkupLineInterpolated($"- {line}");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static IEnumerable<string> ProbeArgs(PlanOptions o)
    {
        string I(int v) => v.ToString(CultureInfo.InvariantCulture);
        yield return "--crop-size"; yield return I(o.CropSize);
        yield return "--aspect-ratio"; yield return o.AspectRatio.ToString("R", CultureInfo.InvariantCulture);
        yield return "--ngf"; yield return I(o.Ngf);
        yield return "--ndf"; yield return I(o.Ndf);
        yield return "--num-d"; yield return I(o.NumD);
        yield return "--n-layers-d"; yield return I(o.NLayersD);
        yield return "--label-nc"; yield return I(o.LabelNc);
        if (o.Instance) yield return "--instance";
        if (o.ContainDontcareLabel) yield return "--contain-dontcare-label";
        if (o.UseVae) yield return "--use-vae";
    }
}
