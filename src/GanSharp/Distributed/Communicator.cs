using System.Diagnostics;
using System.Globalization;
using System.Text;
using GanSharp.Runtime;
using static TorchSharp.torch;

namespace GanSharp.Distributed;

/// <summary>
/// The ranks of one training run. A process started by mpirun (Open MPI sets OMPI_COMM_WORLD_SIZE) with more than one
/// rank joins MPI_COMM_WORLD on first use; every other process is rank 0 of 1 and never loads libmpi, so single-process
/// runs take exactly the code paths they took before.
/// Every collective runs under a watchdog: a rank that died or hangs would leave the others blocked in MPI forever, so a
/// collective that waits longer than <see cref="Timeout"/> reports one sentence and aborts the job.
/// </summary>
internal sealed unsafe class Communicator : IRankSum, IGradientTransport
{
    /// <summary>Open MPI's variable for the number of ranks; mpirun sets it in every rank's environment.</summary>
    public const string SizeVariable = "OMPI_COMM_WORLD_SIZE";

    /// <summary>Seconds a collective may wait for the other ranks before the job is stopped.</summary>
    public const string TimeoutVariable = "GANSHARP_MPI_TIMEOUT";

    private static readonly Lazy<Communicator> LazyWorld = new(Create, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly MpiNative.Handles? _h;
    private readonly object _watch = new();
    private long _busySince;
    private string _busyWhat = "";

    private Communicator(int rank, int size, MpiNative.Handles? handles)
    {
        Rank = rank;
        Size = size;
        _h = handles;
        Timeout = TimeSpan.FromSeconds(ReadTimeoutSeconds());
        if (handles != null) new Thread(Watch) { IsBackground = true, Name = "gansharp-mpi-watchdog" }.Start();
    }

    /// <summary>This process's communicator: MPI_COMM_WORLD under mpirun with several ranks, else a single rank.</summary>
    public static Communicator World => LazyWorld.Value;

    /// <summary>True when this process was started by mpirun among several ranks (reads the environment only).</summary>
    public static bool Launched => LaunchedSize() > 1;

    /// <summary>The exit code a watchdog abort gives mpirun (README's "training stopped by a failure detector").</summary>
    public const int FaultExitCode = 6;

    /// <summary>Where the watchdog's one sentence goes (the CLI prints it); the job is aborted after it either way.</summary>
    public static Action<string>? FaultReporter { get; set; }

    public int Rank { get; }

    public int Size { get; }

    public bool IsDistributed => Size > 1;

    public bool IsRoot => Rank == 0;

    /// <summary>True when some ranks run on other machines: Open MPI's count of this machine's ranks is below the job's.</summary>
    public bool SpansMachines =>
        IsDistributed && int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_SIZE"), NumberStyles.Integer,
            CultureInfo.InvariantCulture, out int local) && local < Size;

    public TimeSpan Timeout { get; }

    /// <summary>Seconds spent in tensor allreduces so far (gradients and synchronized norms), waiting for slower ranks included.</summary>
    public double AllreduceSeconds { get; private set; }

    /// <summary>Seconds spent averaging gradients so far (flattening, allreduce, copying back); the bench reports it per step.</summary>
    public double GradientSeconds { get; internal set; }

    /// <summary>Gradient values whose allreduce started during the backward, and after it (the benchmark's overlap share).</summary>
    public long OverlappedFloats { get; internal set; }

    /// <inheritdoc cref="OverlappedFloats"/>
    public long TrailingFloats { get; internal set; }

    /// <summary>Tensor allreduce calls so far.</summary>
    public long AllreduceCalls { get; private set; }

    private static int LaunchedSize() =>
        int.TryParse(Environment.GetEnvironmentVariable(SizeVariable), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) ? n : 1;

    private static double ReadTimeoutSeconds() =>
        double.TryParse(Environment.GetEnvironmentVariable(TimeoutVariable), NumberStyles.Float, CultureInfo.InvariantCulture,
            out double s) && s > 0 ? s : 120;

    private static Communicator Create()
    {
        if (LaunchedSize() <= 1) return new Communicator(0, 1, null);
        try
        {
            Check(MpiNative.MPI_Initialized(out int done), "MPI_Initialized");
            if (done == 0) Check(MpiNative.MPI_Init_thread(IntPtr.Zero, IntPtr.Zero, MpiNative.ThreadSerialized, out _), "MPI_Init_thread");
            var h = new MpiNative.Handles();
            Check(MpiNative.MPI_Comm_rank(h.CommWorld, out int rank), "MPI_Comm_rank");
            Check(MpiNative.MPI_Comm_size(h.CommWorld, out int size), "MPI_Comm_size");
            return new Communicator(rank, size, h);
        }
        catch (DllNotFoundException)
        {
            throw new GanSharpException(ErrorKind.Usage,
                "this process runs under mpirun but Open MPI's libmpi.so.40 cannot be loaded: install openmpi-bin and libopenmpi-dev " +
                    "(apt-get install openmpi-bin libopenmpi-dev) on every machine of the hostfile.");
        }
    }

    private static void Check(int rc, string call)
    {
        if (rc != 0) throw new InvalidOperationException($"{call} failed with MPI error {rc}");
    }

    /// <summary>Sums <paramref name="data"/> over the ranks, in place.</summary>
    public void AllreduceSum(Span<float> data, string what)
    {
        if (!IsDistributed || data.Length == 0) return;
        fixed (float* p = data)
        {
            Enter(what);
            Leave(MpiNative.MPI_Allreduce(MpiNative.InPlace, (IntPtr)p, data.Length, _h!.Float, _h.Sum, _h.CommWorld), what);
        }
    }

    /// <summary>Sums <paramref name="data"/> over the ranks, in place.</summary>
    public void AllreduceSum(Span<double> data, string what)
    {
        if (!IsDistributed || data.Length == 0) return;
        fixed (double* p = data)
        {
            Enter(what);
            Leave(MpiNative.MPI_Allreduce(MpiNative.InPlace, (IntPtr)p, data.Length, _h!.Double, _h.Sum, _h.CommWorld), what);
        }
    }

    /// <summary>The largest of the ranks' values.</summary>
    public double AllreduceMax(double value, string what)
    {
        if (!IsDistributed) return value;
        double v = value;
        Enter(what);
        Leave(MpiNative.MPI_Allreduce(MpiNative.InPlace, (IntPtr)(&v), 1, _h!.Double, _h.Max, _h.CommWorld), what);
        return v;
    }

    /// <summary>Sums a contiguous float32 or float64 CPU tensor over the ranks, in place, outside autograd.</summary>
    public void AllreduceSum(Tensor t, string what)
    {
        if (!IsDistributed) return;
        bool single = t.dtype == ScalarType.Float32;
        if (!t.is_contiguous() || (!single && t.dtype != ScalarType.Float64))
            throw new ArgumentException("allreduce needs a contiguous float32 or float64 tensor", nameof(t));
        long start = Stopwatch.GetTimestamp();
        int size = single ? sizeof(float) : sizeof(double);
        byte* p = TensorMemory.Bytes(t);
        long n = t.numel();
        for (long off = 0; off < n; off += int.MaxValue)
        {
            int count = (int)Math.Min(int.MaxValue, n - off);
            Enter(what);
            Leave(MpiNative.MPI_Allreduce(MpiNative.InPlace, (IntPtr)(p + off * size), count, single ? _h!.Float : _h!.Double, _h.Sum,
                _h.CommWorld), what);
        }
        AllreduceSeconds += Stopwatch.GetElapsedTime(start).TotalSeconds;
        AllreduceCalls++;
    }

    private readonly List<IntPtr> _pending = [];

    /// <summary>
    /// Starts summing a contiguous float32 or float64 tensor over the ranks in place (MPI_Iallreduce); the tensor must stay
    /// alive and untouched until <see cref="WaitAll"/>. Every rank starts the same sums in the same order.
    /// </summary>
    public void StartSum(Tensor t, string what)
    {
        if (!IsDistributed) return;
        bool single = t.dtype == ScalarType.Float32;
        if (!t.is_contiguous() || (!single && t.dtype != ScalarType.Float64) || t.numel() > int.MaxValue)
            throw new ArgumentException("a nonblocking allreduce needs a contiguous float32 or float64 tensor of at most 2^31 elements", nameof(t));
        byte* p = TensorMemory.Bytes(t);
        Enter(what);
        Leave(MpiNative.MPI_Iallreduce(MpiNative.InPlace, (IntPtr)p, (int)t.numel(), single ? _h!.Float : _h!.Double, _h.Sum, _h.CommWorld,
            out var request), what);
        _pending.Add(request);
        AllreduceCalls++;
    }

    /// <summary>Lets the started sums move on (Open MPI advances nonblocking collectives only inside MPI calls).</summary>
    public void Progress()
    {
        if (_pending.Count == 0) return;
        var requests = _pending.ToArray();
        Leave(MpiNative.MPI_Testall(requests.Length, requests, out int done, IntPtr.Zero), "the progress of the gradient allreduce");
        if (done != 0) _pending.Clear();
    }

    /// <summary>Waits for every started sum.</summary>
    public void WaitAll(string what)
    {
        if (_pending.Count == 0) return;
        long start = Stopwatch.GetTimestamp();
        var requests = _pending.ToArray();
        Enter(what);
        Leave(MpiNative.MPI_Waitall(requests.Length, requests, IntPtr.Zero), what);
        // Only now: after a failed wait the buckets must not be freed while MPI may still write into them.
        _pending.Clear();
        AllreduceSeconds += Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    /// <summary>
    /// Every rank's <paramref name="t"/> (same shape on every rank, any dtype, CPU) stacked along dimension 0 in rank
    /// order: [ranks · n, ...]. Alone, a copy of <paramref name="t"/>.
    /// </summary>
    public Tensor AllGather(Tensor t, string what)
    {
        using var local = t.contiguous();
        if (!IsDistributed) return local.clone();
        var shape = t.shape.ToArray();
        shape[0] *= Size;
        var all = empty(shape, dtype: t.dtype, device: t.device);
        long bytes = local.numel() * local.element_size();
        if (bytes > int.MaxValue) throw new ArgumentException("allgather of more than 2 GB per rank", nameof(t));
        var send = local.bytes.ToArray();
        var receive = new byte[bytes * Size];
        fixed (byte* s = send)
        fixed (byte* r = receive)
        {
            Enter(what);
            Leave(MpiNative.MPI_Allgather((IntPtr)s, (int)bytes, _h!.Byte, (IntPtr)r, (int)bytes, _h.Byte, _h.CommWorld), what);
        }
        all.bytes = receive;
        return all;
    }

    /// <summary>Rank 0's bytes to every rank (same length on every rank).</summary>
    public void Broadcast(Span<byte> data, string what)
    {
        if (!IsDistributed || data.Length == 0) return;
        fixed (byte* p = data)
        {
            Enter(what);
            Leave(MpiNative.MPI_Bcast((IntPtr)p, data.Length, _h!.Byte, 0, _h.CommWorld), what);
        }
    }

    /// <summary>Rank 0's tensor (any dtype, CPU) to every rank, in place.</summary>
    public void Broadcast(Tensor t, string what)
    {
        if (!IsDistributed) return;
        // Through a managed copy: a typed storage view of another dtype (int64 counters) is not the tensor's memory.
        var bytes = t.bytes.ToArray();
        Broadcast(bytes.AsSpan(), what);
        t.bytes = bytes;
    }

    /// <summary>Rank 0's string to every rank.</summary>
    public string Broadcast(string text, string what) =>
        IsDistributed ? Encoding.UTF8.GetString(Broadcast(IsRoot ? Encoding.UTF8.GetBytes(text) : [], what)) : text;

    /// <summary>Rank 0's bytes to every rank, whatever length the others pass (their own array is not used).</summary>
    public byte[] Broadcast(byte[] data, string what)
    {
        if (!IsDistributed) return data;
        Span<byte> len = stackalloc byte[sizeof(long)];
        BitConverter.TryWriteBytes(len, (long)data.Length);
        Broadcast(len, what);
        long n = BitConverter.ToInt64(len);
        // .NET arrays stop short of 2^31 bytes; a blob that large would be a bug, not a checkpoint.
        if (n > Array.MaxLength) throw new InvalidOperationException($"{what}: {n} bytes is more than one broadcast carries");
        var buffer = IsRoot ? data : new byte[n];
        Broadcast(buffer.AsSpan(), what);
        return buffer;
    }

    public void Barrier(string what)
    {
        if (!IsDistributed) return;
        Enter(what);
        Leave(MpiNative.MPI_Barrier(_h!.CommWorld), what);
    }

    /// <summary>Stops every rank of the job (mpirun then exits with <paramref name="code"/>).</summary>
    public void Abort(int code)
    {
        if (IsDistributed) _ = MpiNative.MPI_Abort(_h!.CommWorld, code);
        Environment.Exit(code);
    }

    /// <summary>Leaves MPI at the end of a run; mpirun counts a rank that exits without it as failed.</summary>
    public static void FinalizeIfStarted()
    {
        if (!LazyWorld.IsValueCreated || !LazyWorld.Value.IsDistributed) return;
        _ = MpiNative.MPI_Finalize();
    }

    private void Enter(string what)
    {
        lock (_watch)
        {
            _busyWhat = what;
            _busySince = Stopwatch.GetTimestamp();
        }
    }

    private void Leave(int rc, string what)
    {
        lock (_watch) _busySince = 0;
        Check(rc, what);
    }

    // A blocked collective cannot be interrupted from inside MPI; the watchdog is what bounds the wait.
    private void Watch()
    {
        while (true)
        {
            Thread.Sleep(500);
            string what;
            lock (_watch)
            {
                if (_busySince == 0 || Stopwatch.GetElapsedTime(_busySince) < Timeout) continue;
                what = _busyWhat;
            }
            FaultReporter?.Invoke($"rank {Rank} of {Size} waited {Timeout.TotalSeconds:0} s for the other ranks in {what}: a rank has died or " +
                "hangs (see mpirun's message and that rank's output), so the job stops; resume with --continue-train, with the same or " +
                    "another number of ranks.");
            Abort(FaultExitCode);
        }
    }
}
