using static TorchSharp.torch;

namespace GanSharp.Models.Common;

/// <summary>Anything that can draw samples from a trained G (tests and benchmarks score with it).</summary>
public interface IGanSampler
{
    /// <summary>n samples from G (the EMA copy when EMA is on), in eval mode, without gradients.</summary>
    Tensor Sample(int n);
}
