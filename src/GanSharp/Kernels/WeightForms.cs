using GanSharp.Runtime;
using static TorchSharp.torch;

namespace GanSharp.Kernels;

/// <summary>
/// What layers derive from a weight on every call — W/σ of a spectrally normalised layer, SPADE's stacked γ/β kernels,
/// the per-tap matrices and Winograd transforms of a convolution — made once per weight while a model's weights are
/// frozen for inference, and reused for every later picture. At crop 128 the generator's 30 M parameters were copied
/// three times per picture (about a tenth of an inference on 2 cores) to make the same tensors again.
/// </summary>
/// <remarks>
/// The owner promises that no weight changes while the memo is in <see cref="Use"/>: it is made for a model loaded for
/// inference and dropped when the model goes back to training. It is consulted only without autograd, so no graph ever
/// holds a memoised tensor. Entries are keyed by the address of the source's first element (parameters keep their
/// storage; memoised tensors keep theirs alive, so no address is reused while the memo lives).
/// </remarks>
internal sealed class WeightForms : IDisposable
{
    /// <summary>The derived tensors this memo keeps.</summary>
    public enum Form { SpectralNormalized, StackedWeight, StackedBias, Taps, Winograd, Winograd4 }

    [ThreadStatic] private static WeightForms? t_active;
    private readonly Dictionary<(long Address, long Count, Form Form), Tensor> _made = new();

    /// <summary>How many forms were made (not reused) so far: tests read it.</summary>
    public int Made => _made.Count;

    /// <summary>Makes this memo the one that layers on this thread consult until the returned scope ends.</summary>
    public Scope Use()
    {
        var previous = t_active;
        t_active = this;
        return new Scope(previous);
    }

    /// <summary>Whether this thread runs a frozen model's forward: memoised weights and no autograd.</summary>
    public static bool Frozen => t_active is not null && !is_grad_enabled();

    /// <summary>
    /// <paramref name="make"/>() for <paramref name="source"/>, made once while a memo is in use and autograd is off;
    /// otherwise made on every call, as without a memo. The caller owns (and may dispose) what it gets.
    /// </summary>

    public static Tensor Get(Tensor source, Form form, Func<Tensor> make)
    {
        var memo = t_active;
        if (memo is null || is_grad_enabled()) return make();
        var key = (Address(source), source.numel(), form);
        if (!memo._made.TryGetValue(key, out var made))
        {
            made = make().DetachFromDisposeScope();
            memo._made[key] = made;
        }
        return made.alias();
    }

    private static unsafe long Address(Tensor t) => (long)TensorMemory.Floats(t);

    public void Dispose()
    {
        foreach (var t in _made.Values) t.Dispose();
        _made.Clear();
    }

    /// <summary>Restores the memo that was in use before <see cref="Use"/>.</summary>
    public readonly struct Scope(WeightForms? previous) : IDisposable
    {
        public void Dispose() => t_active = previous;
    }
}
