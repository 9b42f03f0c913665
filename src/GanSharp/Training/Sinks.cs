using System.Globalization;
using System.Text;
using System.Text.Json;

namespace GanSharp.Training;

/// <summary>
/// Appends to <c>loss_log.txt</c> in the reference's line format, so tools written for NVlabs/SPADE logs read ours:
/// <c>(epoch: E, iters: I, time: T) GAN: x GAN_Feat: x VGG: x D_Fake: x D_real: x</c>.
/// </summary>
internal sealed class LossLogSink : IStatsSink
{
    private readonly string _path;
    private readonly Func<string, bool> _isLoss;

    /// <param name="path">The log file, appended to.</param>
    /// <param name="isLoss">Which statistics are losses (the reference logs only those).</param>
    /// <param name="header">Whether to start with the reference's header line (not when resuming one of our runs,
    /// whose log then reads as the uninterrupted run's).</param>
    /// <param name="resumed">Marks the header of a log that continues another program's run.</param>
    public LossLogSink(string path, Func<string, bool> isLoss, bool header, bool resumed = false)
    {
        _path = path;
        _isLoss = isLoss;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        if (header)
            File.AppendAllText(path, $"================ Training Loss ({DateTime.Now:ddd MMM d HH:mm:ss yyyy}){(resumed ? " resumed" : "")} " +
                "================\n");
    }

    public void OnStats(StatsRecord r) => File.AppendAllText(_path, Format(r, _isLoss) + "\n");

    public static string Format(StatsRecord r, Func<string, bool> isLoss)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"(epoch: {r.Epoch}, iters: {r.EpochImages}, time: {r.Seconds:F3}) ");
        foreach (var (k, v) in r.Values)
            if (isLoss(k)) sb.Append(CultureInfo.InvariantCulture, $"{k}: {v:F3} ");
        return sb.ToString();
    }
}

/// <summary>Appends every statistic as one JSON object per line to <c>stats.jsonl</c> (read by <c>gansharp doctor</c>).</summary>
internal sealed class JsonlSink(string path) : IStatsSink
{
    /// <summary>The key that names the statistic that diverged first (its value is a name, not a number).</summary>
    public const string FirstNonFiniteKey = "first_nonfinite";

    /// <summary>The key of the iteration whose reports held that first non-finite value.</summary>
    public const string FirstNonFiniteIterationKey = "first_nonfinite_iteration";

    public void OnStats(StatsRecord r)
    {
        var obj = new Dictionary<string, object>
        {
            ["epoch"] = r.Epoch,
            ["epoch_iter"] = r.EpochImages,
            ["iteration"] = r.Iteration,
            ["time"] = Math.Round(r.Seconds, 4),
        };
        foreach (var (k, v) in r.Values) obj[k] = double.IsFinite(v) ? v : v.ToString(CultureInfo.InvariantCulture);
        if (r.FirstNonFinite != null) obj[FirstNonFiniteKey] = r.FirstNonFinite;
        if (r.FirstNonFiniteIteration is long it) obj[FirstNonFiniteIterationKey] = it;
        File.AppendAllText(path, JsonSerializer.Serialize(obj) + "\n");
    }
}

/// <summary>Writes TensorBoard event files through TorchSharp's SummaryWriter.</summary>
internal sealed class TensorBoardSink(string logDir) : IStatsSink
{
    private readonly TorchSharp.Modules.SummaryWriter _writer = TorchSharp.torch.utils.tensorboard.SummaryWriter(logDir);

    public void OnStats(StatsRecord r)
    {
        foreach (var (k, v) in r.Values)
            if (double.IsFinite(v)) _writer.add_scalar(k, (float)v, (int)Math.Min(int.MaxValue, r.Iteration));
    }
}

/// <summary>Keeps the latest record in memory (for progress displays and tests).</summary>
public sealed class LatestStatsSink : IStatsSink
{
    public StatsRecord? Latest { get; private set; }
    public List<StatsRecord> All { get; } = [];

    public void OnStats(StatsRecord r)
    {
        Latest = r;
        All.Add(r);
    }
}
