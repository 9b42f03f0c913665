using GanSharp.Training;
using static TorchSharp.torch;

namespace GanSharp.Diagnostics;

/// <summary>Validation losses on a held-out split, logged as <c>val/&lt;term&gt;</c> next to the training term.</summary>
internal static class ValidationStats
{
    /// <summary>The statistic name of a term's validation loss (the perceptual-overfitting detector reads <c>val/VGG</c>).</summary>
    public static string Name(string term) => "val/" + term;

    /// <summary>Reports a validation loss under <see cref="Name"/>.</summary>
    public static void Report(StatsCollector stats, string term, Tensor value) => stats.Report(Name(term), value);
}
