using GanSharp.Training;

namespace GanSharp.Diagnostics;

/// <summary>
/// When to evaluate the held-out split: at the first log step once <see cref="Every"/> iterations have passed since
/// the last evaluation (validation costs forward passes, so not at every log step). Not saved by itself: after
/// a resume the first log step evaluates, unless the recipe restores <see cref="Last"/>.
/// </summary>
public sealed class ValidationSchedule(long every)
{
    private long _last = long.MinValue;

    /// <summary>Iterations between evaluations.</summary>
    public long Every { get; } = every;

    /// <summary>
    /// Iterations done at the last evaluation (<see cref="long.MinValue"/> before the first); a recipe saves it with
    /// its state so that a resumed run validates at the same iterations as an uninterrupted one.
    /// </summary>
    public long Last
    {
        get => _last;
        set => _last = value;
    }

    /// <summary>True when this iteration should evaluate (and records that it does).</summary>
    public bool IsDue(StepContext context)
    {
        if (!context.IsLogStep || Every <= 0) return false;
        long done = context.Iteration + 1;
        if (_last != long.MinValue && done - _last < Every) return false;
        _last = done;
        return true;
    }
}
