using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GanSharp.Distributed;

/// <summary>
/// Averages the gradients of one optimizer's parameters over the ranks, overlapped with the backward. During the
/// forward it records the marked blocks (<see cref="BackwardProgress"/>) in order; during the backward, each mark
/// reached makes the parameters first used after it final, and they are copied into flat buckets whose nonblocking
/// allreduce starts at once; what is left (parameters first used before the first mark, or in unmarked code) goes in
/// the last buckets after the backward, and then every sum is awaited and copied back.
/// Buckets, not one call per tensor: SPADE's G has ~200 parameter tensors, and MPI's latency per call would add up.
/// Losses are batch means, so the mean over ranks of each rank's gradient is the gradient of the global batch. A
/// parameter without a gradient has none on every rank (the graphs are the same), so it is skipped everywhere, as the
/// optimizer skips it. The buckets depend only on the marks' order, the same on every rank.
/// </summary>
internal sealed class GradientAverager : IBackwardListener
{
    /// <summary>1 Mi floats (4 MiB): big enough to amortise a call's latency, small enough to start early in the backward.</summary>
    public const int BucketFloats = 1 << 20;

    /// <summary><c>on</c>, <c>off</c> or <c>auto</c> (the default): whether sums start during the backward.</summary>
    public const string OverlapVariable = "GANSHARP_ALLREDUCE_OVERLAP";

    /// <summary>Values per bucket instead of <see cref="BucketFloats"/> (as DDP's bucket_cap_mb): tests make it small, so
    /// that a tiny model's buckets start during the backward too.</summary>
    public const string BucketVariable = "GANSHARP_ALLREDUCE_BUCKET_FLOATS";

    /// <summary>The bucket size: <see cref="BucketVariable"/> when set to a positive number, else <see cref="BucketFloats"/>.</summary>
    public static long ConfiguredBucketFloats => ParseBucketFloats(Environment.GetEnvironmentVariable(BucketVariable));

    /// <summary>A value of <see cref="BucketVariable"/>: unset gives <see cref="BucketFloats"/>; anything but 1 to 2^31 − 1 is refused.</summary>
    public static long ParseBucketFloats(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return BucketFloats;
        if (long.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out long n)
            && n > 0 && n <= int.MaxValue)
            return n;
        throw new GanSharpException(ErrorKind.Usage, $"{BucketVariable}={text} is not a number of values per bucket: give a whole " +
            $"number from 1 to {int.MaxValue}, or unset it for {BucketFloats}.");
    }

    private readonly IGradientTransport _transport;
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly Dictionary<IntPtr, int> _indexOf = [];
    // Per parameter: the index of the first mark after its first use in this phase's forward (int.MaxValue: unmarked).
    private readonly int[] _firstMark;
    private readonly bool[] _taken;
    private readonly List<(Tensor Flat, List<int> Members)> _buckets = [];
    private readonly List<int> _open = [];
    private long _openFloats;
    private int _marks;
    private bool _armed;
    private string _what = "";

    private readonly long _bucketFloats;
    private readonly bool _overlap;

    public GradientAverager(IGradientTransport transport, IReadOnlyList<Parameter> parameters, long bucketFloats = BucketFloats,
        bool overlap = true)
    {
        _transport = transport;
        _bucketFloats = bucketFloats;
        _overlap = overlap;
        _parameters = parameters;
        for (int i = 0; i < parameters.Count; i++) _indexOf[parameters[i].Handle] = i;
        _firstMark = new int[parameters.Count];
        _taken = new bool[parameters.Count];
    }

    /// <summary>
    /// Whether to overlap, from <see cref="OverlapVariable"/>'s value. <c>auto</c> overlaps when the ranks span several
    /// machines: there the gradients cross a network while the cores compute. When every rank shares one machine, the
    /// sums are memory copies on the cores the backward needs, and the small blocking sums of the synchronized norms queue
    /// behind the buckets: `bench ranks` measured overlapping 1.01–1.18x slower per iteration there (2 ranks, 2 cores).
    /// </summary>
    public static bool ChooseOverlap(string? setting, bool spansMachines) => setting?.Trim().ToLowerInvariant() switch
    {
        null or "" or "auto" => spansMachines,
        "on" => true,
        "off" => false,
        _ => throw new GanSharpException(ErrorKind.Usage, $"{OverlapVariable}={setting} is not a setting: use on, off or auto."),
    };

    /// <summary>Gradient values whose sums started during the backward, for the benchmark and tests.</summary>
    public long OverlappedFloats { get; private set; }

    /// <summary>Gradient values whose sums started after the backward.</summary>
    public long TrailingFloats { get; private set; }

    /// <summary>Seconds the trainer's thread spent here (copies, starts, progress, the final wait): the part not hidden.</summary>
    public double Seconds { get; private set; }

    /// <summary>Starts a phase: the forward that follows is recorded.</summary>
    public void BeginForward()
    {
        Array.Fill(_firstMark, int.MaxValue);
        Array.Fill(_taken, false);
        _marks = 0;
        _armed = false;
        if (_overlap) BackwardProgress.Listener = this;
    }

    /// <summary>The backward is about to run: marks reached from now on start sums.</summary>
    public void Arm(string what)
    {
        _what = what;
        _armed = true;
    }

    public int Forward(nn.Module done)
    {
        bool mine = false;
        foreach (var p in done.parameters())
        {
            if (!_indexOf.TryGetValue(p.Handle, out int i)) continue;
            mine = true;
            // The block's parameters were first used before this mark (inside the block): final once the backward reaches
            // the previous mark.
            if (_firstMark[i] == int.MaxValue) _firstMark[i] = _marks;
        }
        return mine ? _marks++ : -1;
    }

    public void Reached(int index)
    {
        if (!_armed) return;
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        using var _ = no_grad();
        for (int i = 0; i < _parameters.Count; i++)
        {
            if (_taken[i] || _firstMark[i] == int.MaxValue || _firstMark[i] <= index) continue;
            Take(i, during: true);
        }
        if (_openFloats >= _bucketFloats) Launch(during: true);
        _transport.Progress();
        Seconds += System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    /// <summary>After the backward: sums what is left, waits for every sum and writes the means into the gradients.</summary>
    public void Finish()
    {
        BackwardProgress.Listener = null;
        _armed = false;
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        using var _ = no_grad();
        for (int i = 0; i < _parameters.Count; i++)
            if (!_taken[i]) Take(i, during: false);
        Launch(during: false);
        _transport.WaitAll(_what);
        foreach (var (flat, members) in _buckets)
        {
            flat.div_(_transport.Size);
            long off = 0;
            foreach (int i in members)
            {
                using var g = _parameters[i].grad!;
                long n = g.numel();
                using var part = flat.narrow(0, off, n).view_as(g);
                g.copy_(part);
                off += n;
            }
            flat.Dispose();
        }
        _buckets.Clear();
        Seconds += System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    /// <summary>Leaves a phase (after Finish, nothing to do; after an exception, waits for started sums and frees them).</summary>
    public void Abandon()
    {
        if (ReferenceEquals(BackwardProgress.Listener, this)) BackwardProgress.Listener = null;
        _armed = false;
        _open.Clear();
        _openFloats = 0;
        if (_buckets.Count == 0) return;
        // MPI still writes into started buckets: they may be freed only after their sums complete.
        try
        {
            _transport.WaitAll(_what);
        }
        finally
        {
            foreach (var (flat, _) in _buckets) flat.Dispose();
            _buckets.Clear();
        }
    }

    private void Take(int i, bool during)
    {
        _taken[i] = true;
        using var g = _parameters[i].grad;
        if (g is null) return;
        _open.Add(i);
        _openFloats += g.numel();
        if (_openFloats >= _bucketFloats && !during) Launch(during: false);
    }

    // during: started from a mark, while the backward still runs.
    private void Launch(bool during)
    {
        if (_open.Count == 0) return;
        if (during) OverlappedFloats += _openFloats;
        else TrailingFloats += _openFloats;
        var members = new List<int>(_open);
        // p.grad hands out a new tensor handle per call: the scope frees those and the reshapes; the bucket lives on.
        using var scope = NewDisposeScope();
        var flat = cat(members.Select(i => _parameters[i].grad!.reshape(-1)).ToList()).contiguous().DetachFromDisposeScope();
        // Without overlap, the blocking allreduce: Open MPI's tuned algorithms beat its nonblocking ones (libnbc) when
        // nothing runs alongside.
        if (_overlap) _transport.StartSum(flat, _what);
        else _transport.AllreduceSum(flat, _what);
        _buckets.Add((flat, members));
        _open.Clear();
        _openFloats = 0;
    }
}
