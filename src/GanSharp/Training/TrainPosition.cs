namespace GanSharp.Training;

/// <summary>Where a run stands: the epoch in progress, the next batch in it, and counters.</summary>
public sealed record TrainPosition(int Epoch, int BatchIndex, long Iteration, long EpochImages, double ElapsedSeconds);
