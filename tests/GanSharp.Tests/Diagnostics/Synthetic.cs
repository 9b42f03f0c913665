using GanSharp.Diagnostics;
using GanSharp.Training;

namespace GanSharp.Tests.Diagnostics;

/// <summary>Synthetic statistic series: a healthy oscillating run and failures spliced into it.</summary>
internal static class Synthetic
{
    public const int Step = 10;

    public static List<StatsRecord> Build(int n, Func<int, Random, Dictionary<string, double>> values, int seed = 1)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(i => new StatsRecord(1 + i / 50, (i % 50 + 1) * 8L, (i + 1L) * Step, i * 0.5, values(i, rng))).ToList();
    }

    private static double Noise(Random r, double scale) => (r.NextDouble() * 2 - 1) * scale;

    /// <summary>
    /// A healthy non-saturating GAN: losses oscillate around stable levels (the first-aid kit's DCGAN curves),
    /// D accuracy 0.6–0.8, gradients 1–10, diversity near the real data's, validation VGG falling with training VGG,
    /// BEGAN M falling then flat, FID improving every 20 records.
    /// </summary>
    public static Dictionary<string, double> Healthy(int i, Random r)
    {
        var v = new Dictionary<string, double>
        {
            ["GAN"] = 0.9 + 0.2 * Math.Sin(i / 5.0) + Noise(r, 0.05),
            ["VGG"] = 3.0 - 0.004 * i + Noise(r, 0.03),
            ["D_Fake"] = 0.6 + 0.15 * Math.Cos(i / 4.0) + Noise(r, 0.05),
            ["D_real"] = 0.6 + 0.15 * Math.Sin(i / 3.0) + Noise(r, 0.05),
            ["D_acc_real"] = 0.7 + 0.08 * Math.Sin(i / 6.0) + Noise(r, 0.03),
            ["D_acc_fake"] = 0.66 + 0.08 * Math.Cos(i / 7.0) + Noise(r, 0.03),
            ["D(x)"] = 0.58 + 0.05 * Math.Sin(i / 6.0),
            ["D(G(z))"] = 0.42 + 0.05 * Math.Cos(i / 6.0),
            ["r_t"] = 0.3 + 0.1 * Math.Sin(i / 8.0),
            ["D_chance"] = 2 * Math.Log(2),
            ["D_acc_heldout"] = 0.68 + 0.08 * Math.Sin(i / 6.0) + Noise(r, 0.03),
            ["grad/G"] = 5 + 2 * Math.Sin(i / 4.0) + Noise(r, 0.5),
            ["grad/D"] = 3 + 1.5 * Math.Cos(i / 5.0) + Noise(r, 0.5),
            ["diversity"] = 1.9 + 0.1 * Math.Sin(i / 9.0),
            ["diversity_real"] = 2.0 + Noise(r, 0.02),
            ["M"] = 0.05 + 0.1 * Math.Exp(-i / 30.0) + Noise(r, 0.002),
        };
        v["D_acc"] = (v["D_acc_real"] + v["D_acc_fake"]) / 2;
        if (i % 10 == 9) v["val/VGG"] = 3.2 - 0.004 * i + Noise(r, 0.02);
        if (i % 20 == 19) v["FID"] = 10 + 50 * Math.Exp(-i / 80.0) + Noise(r, 0.5);
        return v;
    }

    /// <summary>A healthy WGAN-GP critic: a positive distance estimate that shrinks as G improves.</summary>
    public static Dictionary<string, double> HealthyWgan(int i, Random r) => new()
    {
        ["GAN"] = -1.0 + 0.3 * Math.Sin(i / 5.0) + Noise(r, 0.1),
        ["D_Fake"] = -0.5 + Noise(r, 0.1),
        ["D_real"] = -1.0 - Math.Exp(-i / 50.0) + Noise(r, 0.1),
        ["W_dist"] = 0.5 + Math.Exp(-i / 50.0) + Noise(r, 0.1),
        ["D(x)"] = 1.0 + Noise(r, 0.2),
        ["D(G(z))"] = 0.3 + Noise(r, 0.2),
        ["grad/G"] = 2 + Noise(r, 0.5),
        ["grad/D"] = 4 + Noise(r, 0.5),
    };

    /// <summary>The healthy run with <paramref name="change"/> applied to records in [from, to).</summary>
    public static Func<int, Random, Dictionary<string, double>> With(int from, int to, Action<int, Dictionary<string, double>> change) => (i, r) =>
    {
        var v = Healthy(i, r);
        if (i >= from && i < to) change(i, v);
        return v;
    };

    public static Verdict Evaluate(Detector d, List<StatsRecord> records) => d.Evaluate(new StatsSeries(records));
}
