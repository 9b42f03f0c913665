using GanSharp.Options;
using GanSharp.Data;
using GanSharp.Interop;
using GanSharp.Interop.NVlabs;
using GanSharp.Models.Spade;
using GanSharp.Training;

namespace GanSharp.Runs;

// The options of a training run as resolved from the command line, a checkpoint or a run folder of the NVlabs code.
public static partial class SpadeRunner
{
    /// <summary>
    /// Options as they will be used: merged with a checkpoint when continuing, with instance use inferred from the data.
    /// Continuing a run folder of the NVlabs code (its opt.txt and weights, no state of ours) gives
    /// <paramref name="reference"/>.
    /// </summary>
    public static SpadeRunOptions ResolveForTraining(SpadeRunOptions options, IReadOnlySet<string> given, out LoadedState? state,
        out ReferenceResume? reference)
    {
        state = null;
        reference = null;
        var folder = new RunFolder(options.Run.RunDir);
        if (options.Run.ContinueTrain)
        {
            string which = options.Run.WhichEpoch;
            state = folder.TryLoad(which);
            SpadeRunOptions saved;
            string source;
            if (state is not null)
            {
                saved = SpadeRunOptions.FromJson(state.OptionsJson, state.Path);
                source = state.Path;
                CheckStateBelongs(folder, saved, state.Path);
                state.CheckWeightFiles(folder, which);
            }
            else if (File.Exists(folder.NetPath(which, "G")) && ReferenceOptions.TryReadRunFolder(folder.OptTxtPath) is { } referenceRun)
            {
                saved = referenceRun.ToRunOptions();
                source = folder.OptTxtPath;
                reference = ReferenceRun.ReadIterTxt(Path.Combine(folder.Dir, "iter.txt"));
            }
            else if (File.Exists(folder.NetPath(which, "G")) && File.Exists(folder.OptionsJsonPath))
            {
                // One of our runs without its state (deleted to continue from weights put in its place): like the
                // reference's own continue, the weights and the epoch carry over and Adam starts afresh.
                saved = SpadeRunOptions.FromJson(File.ReadAllText(folder.OptionsJsonPath), folder.OptionsJsonPath);
                source = folder.OptionsJsonPath;
                reference = ReferenceRun.ReadIterTxt(Path.Combine(folder.Dir, "iter.txt")) with { FromNVlabs = false };
            }
            else
                throw new GanSharpException(ErrorKind.Checkpoint,
                    $"{RunOptionSpecs.ContinueTrain.Flag} found no {folder.StatePath(which)}: check "
                        + $"{RunOptionSpecs.Name.Flag}/{RunOptionSpecs.CheckpointsDir.Flag}/{RunOptionSpecs.WhichEpoch.Flag}, or start without " +
                        $"{RunOptionSpecs.ContinueTrain.Flag}.");
            // The folder is where the command line found it (it may have moved since it was written); other run
            // options come from the checkpoint unless typed.
            options = SpadeRunOptions.Merge(options, given, saved, source,
                flat => flat is "run.name" or "run.checkpoints_dir" || (flat.StartsWith("run.", StringComparison.Ordinal) && given.Contains(flat)));
            options = options with { Run = options.Run with { ContinueTrain = true } };
        }
        else
            RefuseNewRun(folder);
        if (string.IsNullOrEmpty(options.Data.LabelDir) || string.IsNullOrEmpty(options.Data.ImageDir))
            throw new GanSharpException(ErrorKind.Usage, $"{DataOptionSpecs.LabelDir.Flag} and {DataOptionSpecs.ImageDir.Flag} are "
                + "required: point them at the folders of label maps " +
                "and photos.");
        return options;
    }

    // A state copied in from another run would be adopted whole (and rewrite options.json); the folder's own
    // options.json says which networks this run has.
    private static void CheckStateBelongs(RunFolder folder, SpadeRunOptions saved, string statePath)
    {
        if (!File.Exists(folder.OptionsJsonPath)) return;
        var own = SpadeRunOptions.FromJson(File.ReadAllText(folder.OptionsJsonPath), folder.OptionsJsonPath).Flatten();
        foreach (var (name, value) in saved.Flatten())
        {
            if (!SpadeRunOptions.IsStructural(name) || !own.TryGetValue(name, out var mine) || mine == value) continue;
            throw new GanSharpException(ErrorKind.Checkpoint,
                $"{statePath} was saved by a run with {name} {value}, but this run's {Path.GetFileName(folder.OptionsJsonPath)} has {mine}: " +
                "the state belongs to another run; put this run's own state back, or continue the other run under its own "
                    + $"{RunOptionSpecs.Name.Flag}.");
        }
    }

    // A new run would overwrite a checkpoint, or the weights of a run (the reference's or ours) that has no state.
    private static void RefuseNewRun(RunFolder folder)
    {
        RunSetup.RefuseNewRunOverCheckpoint(folder);
        if (File.Exists(folder.NetPath("latest", "G")) && ReferenceOptions.TryReadRunFolder(folder.OptTxtPath) is not null)
        {
            throw new GanSharpException(ErrorKind.Checkpoint,
                $"{folder.Dir} holds a run of the NVlabs reference: pass {RunOptionSpecs.ContinueTrain.Flag} to continue it from its "
                    + "weights, or choose " +
                    $"another {RunOptionSpecs.Name.Flag}.");
        }
        if (File.Exists(folder.NetPath("latest", "G")) && File.Exists(folder.OptionsJsonPath))
        {
            throw new GanSharpException(ErrorKind.Checkpoint,
                $"{folder.Dir} holds the weights of a run: pass {RunOptionSpecs.ContinueTrain.Flag} to continue from them, or choose "
                    + $"another {RunOptionSpecs.Name.Flag}.");
        }
    }

    private static SpadeRunOptions Defaults(SpadeRunOptions o) => new()
    {
        Data = DataOptions.Create(o.Data.LabelDir, o.Data.ImageDir, isTrain: true, o.Data.InstanceDir),
        Model = new SpadeModelOptions { LabelNc = 13 },
    };
}
