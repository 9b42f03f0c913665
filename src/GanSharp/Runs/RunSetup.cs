using GanSharp.Diagnostics;
using GanSharp.Kernels;
using GanSharp.Training;
using TorchSharp;

namespace GanSharp.Runs;

/// <summary>
/// The steps every training run takes before its first iteration, shared by <see cref="SpadeRunner"/> and
/// <see cref="FamilyRunner"/>: taking the run folder (lock, then recovery of an interrupted save), refusing a new run
/// over a checkpoint, threads, seeding, the statistics sinks (logs, the live doctor) and the divergence advice.
/// </summary>
internal static class RunSetup
{
    /// <summary>
    /// Checks the run's names and takes its folder for the whole run: a second trainer in the same folder (or a
    /// --continue-train while this one runs) is refused by name, and a checkpoint whose save was interrupted is completed.
    /// </summary>
    public static RunLock TakeFolder(RunOptions run, Action<string>? notice = null)
    {
        run.ValidateNames();
        return new RunFolder(run.RunDir).TakeForTraining(notice);
    }

    /// <summary>Refuses to start a new run in a folder whose latest checkpoint it would overwrite.</summary>
    public static void RefuseNewRunOverCheckpoint(RunFolder folder)
    {
        if (folder.HasState("latest")) throw folder.HoldsARun();
    }

    /// <summary>Sets libtorch's intra-op threads (0 = its default, one per core) and, for SPADE, the GEMM convolutions'.</summary>
    public static void SetThreads(int threads, bool gemmConvolutions)
    {
        if (threads <= 0) return;
        torch.set_num_threads(threads);
        if (gemmConvolutions) OneDnnGemm.SetThreads(threads);
    }

    /// <summary>Seeds torch's global generator, which every recipe and trick draws from (the training state saves it).</summary>
    public static void Seed(int seed) => torch.manual_seed(seed);

    /// <summary>
    /// The run's statistics collector with its sinks: loss_log.txt (the loss names <paramref name="isLoss"/> picks),
    /// stats.jsonl, TensorBoard with --tf-log, and the caller's (e.g. the live doctor).
    /// </summary>
    /// <param name="folder">The run folder the logs live in.</param>
    /// <param name="tfLog">Also write TensorBoard event files (--tf-log).</param>
    /// <param name="isLoss">Which statistics loss_log.txt carries.</param>
    /// <param name="header">Write loss_log.txt's header (a new run).</param>
    /// <param name="resumed">Mark in loss_log.txt where this program's part of a continued reference run begins.</param>
    /// <param name="sinks">The caller's sinks, e.g. the live doctor.</param>
    public static StatsCollector OpenStats(
        RunFolder folder, bool tfLog, Func<string, bool> isLoss, bool header, bool resumed, IEnumerable<IStatsSink>? sinks)
    {
        var stats = new StatsCollector();
        stats.Subscribe(new LossLogSink(folder.LossLogPath, isLoss, header, resumed));
        stats.Subscribe(new JsonlSink(folder.StatsPath));
        if (tfLog) stats.Subscribe(new TensorBoardSink(Path.Combine(folder.Dir, "logs")));
        foreach (var sink in sinks ?? []) stats.Subscribe(sink);
        return stats;
    }

    /// <summary>What a divergence message prescribes for a run of this kind, in its own flags.</summary>
    public static string DivergenceAdvice(RunKind kind) => Remedies.Summary(NonFiniteDetector.DetectorId, kind: kind);
}
