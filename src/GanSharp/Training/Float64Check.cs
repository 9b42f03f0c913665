using static TorchSharp.torch;

namespace GanSharp.Training;

/// <summary>
/// A verification switch, not a training option: with <c>GANSHARP_FLOAT64=1</c> in the environment, SPADE trains its
/// networks and batches in float64 (libtorch's convolutions; ~2-4x slower). It exists to check arithmetic that float32
/// cannot show: in float32 a gradient that is mathematically zero (a bias in front of a normalisation, D's last bias
/// when the hinge terms cancel) is rounding noise, and Adam turns that noise into a step of +-lr whose sign depends on
/// summation order, so two correct computations of one iteration (one process of batch 2, two ranks of batch 1) end
/// with weights ~1e-3 apart. In float64 the noise is ~1e-16 against Adam's eps of 1e-8 and the runs agree to ~1e-12.
/// </summary>
internal static class Float64Check
{
    public const string Variable = "GANSHARP_FLOAT64";

    public static bool On => Environment.GetEnvironmentVariable(Variable) == "1";

    /// <summary>The floating dtype of this process's training networks and batches.</summary>
    public static ScalarType Dtype => On ? ScalarType.Float64 : ScalarType.Float32;
}
