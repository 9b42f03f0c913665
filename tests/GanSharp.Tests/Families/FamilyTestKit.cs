using GanSharp.Data;
using GanSharp.Models;
using GanSharp.Runs;
using GanSharp.Training;
using GanSharp.Training.Tricks;

namespace GanSharp.Tests.Families;

/// <summary>Runs a family for a few iterations in a temporary folder and scores it.</summary>
internal static class FamilyTestKit
{
    public static FamilyRunResult Train(FamilyRunOptions f, TricksOptions t, long iterations, string dir, int seed = 1, bool resume = false) =>
        FamilyRunner.Train(f, t, Run(dir, iterations, seed, resume), CancellationToken.None);

    public static RunOptions Run(string dir, long iterations, int seed = 1, bool resume = false) => new()
    {
        Name = "f",
        CheckpointsDir = dir,
        Seed = seed,
        PrintFreq = 1 << 30,
        DisplayFreq = 1 << 30,
        SaveLatestFreq = 1 << 30,
        SaveEpochFreq = 1000,
        MaxIterations = iterations,
        ContinueTrain = resume,
    };

    /// <summary>The feature distance of an untrained G of the same seed (the value at init).</summary>
    public static double InitDistance(FamilyRunOptions f, TricksOptions t, int seed = 1)
    {
        TorchSharp.torch.manual_seed(seed);
        using var recipe = FamilyRegistry.CreateRecipe(f, t);
        return FamilyRunner.Score(f, recipe, 256, seed).FeatureDistance;
    }

    /// <summary>
    /// Counts the recipe's loss calls per phase and keeps a copy of the data each call was given (a decorator: the
    /// trainer sees the same recipe).
    /// </summary>
    public sealed class CountingRecipe(IGanRecipe<IGanBatch> inner) : IGanRecipe<IGanBatch>
    {
        public Dictionary<string, int> Calls { get; } = [];

        /// <summary>Per loss call in order: the phase and the values of the batch's data.</summary>
        public List<(string Phase, float[] Data)> Seen { get; } = [];

        public string Family => inner.Family;

        public IReadOnlyList<NetworkSlot> Networks => inner.Networks;

        public IReadOnlyList<OptimizerSlot> Optimizers => inner.Optimizers;

        public IReadOnlyList<TrainPhase> Phases => inner.Phases;

        public IReadOnlyDictionary<string, double> LearningRates(int epoch) => inner.LearningRates(epoch);

        public TorchSharp.torch.Tensor Loss(TrainPhase phase, IGanBatch batch, StepContext context)
        {
            Calls[phase.Name] = Calls.GetValueOrDefault(phase.Name) + 1;
            Seen.Add((phase.Name, batch.Data.data<float>().ToArray()));
            return inner.Loss(phase, batch, context);
        }

        public void AfterStep(TrainPhase phase, StepContext context) => inner.AfterStep(phase, context);

        public IReadOnlyList<(string Name, TorchSharp.torch.Tensor Image)> Visuals(IGanBatch batch) => inner.Visuals(batch);

        public Dictionary<object, object?> ExtraState() => inner.ExtraState();

        public void LoadExtraState(Dictionary<object, object?> state) => inner.LoadExtraState(state);

        public void Dispose() => inner.Dispose();
    }
}
