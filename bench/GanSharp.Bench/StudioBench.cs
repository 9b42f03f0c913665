using System.Diagnostics;
using GanSharp.Data;
using GanSharp.Losses;
using GanSharp.Models.Spade;
using GanSharp.Studio;
using GanSharp.Training;

namespace GanSharp.Bench;

/// <summary>
/// <c>studio [repeats]</c>: the time from a finished stroke to the picture, as the server spends it in
/// <see cref="StudioSession.Synthesize"/> (label check, preprocessing, generator forward, PNG encoding), at crop 256 /
/// ngf 64 and at the demo's size (crop 64, ngf 16, 8 classes with instance edges). The HTTP round trip on loopback
/// adds about a millisecond and the page's PNG decode is the browser's.
/// </summary>
internal static class StudioBench
{
    public static int Run(string[] args)
    {
        int repeats = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 5;
        Console.WriteLine($"CPU: {Cpu.Describe()}; torch threads {TorchSharp.torch.get_num_threads()}");
        Time("crop 256, ngf 64, 13 classes", 256, 64, 13, noInstance: true, repeats, goalMs: 1000);
        Time("demo: crop 64, ngf 16, 7 classes + instance edges", 64, 16, 7, noInstance: false, repeats, goalMs: 200);
        return 0;
    }

    private static void Time(string what, int crop, int ngf, int labelNc, bool noInstance, int repeats, double goalMs)
    {
        var model = new SpadeModelOptions { LabelNc = labelNc, NoInstance = noInstance, CropSize = crop, Ngf = ngf };
        var options = new SpadeRunOptions
        {
            Data = DataOptions.Create("", "", isTrain: false) with { LabelNc = labelNc, NoInstance = noInstance, CropSize = crop, LoadSize = crop },
            Model = model,
            Run = new RunOptions { Name = "bench" },
        };
        var generator = new SpadeModel(model, new SpadeLossOptions { NoVggLoss = true }, buildDiscriminator: false);
        using var session = StudioSession.ForModel(options, generator);
        // A painted scene: horizontal bands of classes with a disc of another class, as strokes leave it.
        var values = new int[crop * crop];
        for (int y = 0; y < crop; y++)
            for (int x = 0; x < crop; x++)
            {
                int dx = x - crop / 2, dy = y - crop / 2;
                values[y * crop + x] = dx * dx + dy * dy < crop * crop / 16 ? labelNc - 1 : y * (labelNc - 1) / crop;
            }
        var label = new LabelMap(crop, crop, values);
        for (int i = 0; i < 2; i++) session.Synthesize(label); // warm-up: first-call allocations and kernel selection
        var ms = new List<double>();
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            session.Synthesize(label);
            ms.Add(sw.Elapsed.TotalMilliseconds);
        }
        ms.Sort();
        double median = ms[ms.Count / 2];
        Console.WriteLine($"{what}: median {median:F0} ms, min {ms[0]:F0} ms, max {ms[^1]:F0} ms over {repeats} "
            + $"(goal {goalMs:F0} ms: {(median < goalMs ? "met" : "missed")})");
    }
}
