using GanSharp.Options;
using System.Text.Json;
using System.Text.Json.Serialization;
using GanSharp.Data;
using GanSharp.Diagnostics;
using GanSharp.Models;
using GanSharp.Models.Common;
using GanSharp.Training;
using GanSharp.Training.Tricks;

namespace GanSharp.Runs;

/// <summary>How a family run ended, with its score on the data (modes and quality on 2-D sets, feature distance on images).</summary>
public sealed record FamilyRunResult(TrainResult Train, int Modes, double HighQuality, double FeatureDistance);

/// <summary>
/// The library entry point of <c>gansharp train-family</c> (and of <c>train --family X</c> for X ≠ spade): builds
/// the data source, the family's recipe with the tricks and the trainer, resumes with --continue-train, runs, and
/// scores the result.
/// </summary>
public static class FamilyRunner
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    /// <summary>The data source of a run, deterministic in (seed, epoch, index).</summary>
    public static IBatchSource<IGanBatch> CreateSource(FamilyRunOptions family, int seed) => family.Data switch
    {
        FamilyData.Ring8 => new Toy2DSource(Toy2DKind.Ring8, family.BatchSize, family.BatchesPerEpoch, seed),
        FamilyData.Grid25 => new Toy2DSource(Toy2DKind.Grid25, family.BatchSize, family.BatchesPerEpoch, seed),
        FamilyData.Shapes32 => new Shapes32Source(family.BatchSize, family.BatchesPerEpoch, seed),
        _ => throw new ArgumentOutOfRangeException(nameof(family), family.Data, "unknown data"),
    };

    /// <summary>The options of a run as written to options.json and into its checkpoints.</summary>
    public static string OptionsJson(FamilyRunOptions family, TricksOptions tricks) =>
        JsonSerializer.Serialize(new { family, tricks }, Json);

    /// <summary>Scores samples: modes covered and high-quality share on 2-D sets, random-feature distance to real shapes on images.</summary>
    public static (int Modes, double HighQuality, double FeatureDistance) Score(FamilyRunOptions family, IGanSampler sampler, int n, int seed)
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        var samples = sampler.Sample(n);
        if (family.IsImage)
        {
            using var gen = new TorchSharp.torch.Generator((ulong)(seed + 7919));
            var (real, _) = Shapes32Source.Sample(n, gen);
            return (0, 0, Shapes32Source.FeatureDistance(real, samples));
        }
        var kind = family.Data == FamilyData.Ring8 ? Toy2DKind.Ring8 : Toy2DKind.Grid25;
        var (modes, hq) = Toy2DSource.Score(kind, samples);
        return (modes, hq, 0);
    }

    /// <summary>Builds source, recipe and trainer, resumes when asked, trains and scores.</summary>
    public static FamilyRunResult Train(
        FamilyRunOptions family,
        TricksOptions tricks,
        RunOptions run,
        CancellationToken token,
        Action<TrainProgress>? progress = null,
        IEnumerable<IStatsSink>? sinks = null)
    {
        // The families' runs fit one process (toy data, small nets), and their noise and data are not drawn per rank:
        // K ranks would each train, and write, the whole run.
        if (Distributed.Communicator.Launched)
        {
            string name = JsonNamingPolicy.KebabCaseLower.ConvertName(family.Family.ToString());
            throw new GanSharpException(ErrorKind.Usage, $"{FamilyOptionSpecs.Family.Flag} {name} trains in one process: run it without " +
                "mpirun (mpirun spreads SPADE training only).");
        }
        run.ValidateNames();
        family.Validate();
        tricks.Validate();
        run.Validate();
        if (tricks.DiffAugment.Length > 0 && !family.IsImage)
            throw new GanSharpException(ErrorKind.Usage, $"{TricksOptionSpecs.DiffAugment.Flag} works on images only: use "
                + $"{FamilyOptionSpecs.Data.Flag} shapes32 or drop it.");
        RunSetup.SetThreads(family.Threads, gemmConvolutions: false);
        RunSetup.Seed(run.Seed);
        string json = OptionsJson(family, tricks);
        using var runLock = RunSetup.TakeFolder(run);
        var folder = new RunFolder(run.RunDir);
        var state = LoadForContinue(folder, run);
        folder.RewindLogs(state);
        using var recipe = FamilyRegistry.CreateRecipe(family, tricks);
        var source = CreateSource(family, run.Seed);
        using var stats = RunSetup.OpenStats(folder, run.TfLog, IsLogged, header: state is null, resumed: false, sinks);
        AtomicFile.WriteAllText(folder.OptionsJsonPath, json);
        using var trainer = new Trainer<IGanBatch>(recipe, source, run, family.Epochs, json, stats)
        {
            DivergenceAdvice = RunSetup.DivergenceAdvice(RunKind.Family),
            RunFiles = new Dictionary<string, string> { [Path.GetFileName(folder.OptionsJsonPath)] = json },
        };
        var start = state is null ? new TrainPosition(1, 0, 0, 0, 0) : trainer.Resume(state);
        var result = trainer.Run(start, token, progress);
        var (modes, hq, fd) = Score(family, recipe, family.IsImage ? 256 : 2000, run.Seed);
        return new FamilyRunResult(result, modes, hq, fd);
    }

    // loss_log.txt carries D's and G's terms and BEGAN's convergence measure M.
    private static bool IsLogged(string name) => name.StartsWith('D') || name.StartsWith('G') || name == "M";

    // The state --continue-train resumes from (null for a new run, which must not overwrite a checkpoint).
    private static LoadedState? LoadForContinue(RunFolder folder, RunOptions run)
    {
        if (!run.ContinueTrain)
        {
            RunSetup.RefuseNewRunOverCheckpoint(folder);
            return null;
        }
        var state = folder.TryLoad(run.WhichEpoch)
            ?? throw new GanSharpException(ErrorKind.Checkpoint,
                $"{RunOptionSpecs.ContinueTrain.Flag} found no {folder.StatePath(run.WhichEpoch)}: drop "
                    + $"{RunOptionSpecs.ContinueTrain.Flag} or check {RunOptionSpecs.Name.Flag} and {RunOptionSpecs.CheckpointsDir.Flag}.");
        state.CheckWeightFiles(folder, run.WhichEpoch);
        return state;
    }
}
