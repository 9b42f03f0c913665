using GanSharp.Options;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using static TorchSharp.torch;

namespace GanSharp.Data;

/// <summary>
/// Where the loader stands: <see cref="Index"/> samples of epoch <see cref="Epoch"/> have been delivered. Saved in
/// checkpoints so that a resumed run continues with exactly the next batch.
/// </summary>
public readonly record struct LoaderPosition(int Epoch, int Index);

/// <summary>
/// One batch as tensors, created on the thread that enumerates the loader (so they join that thread's dispose
/// scope if one is open). Dispose the batch, or let the caller's scope do it.
/// </summary>
public sealed class SpadeBatch : IDisposable
{
    internal SpadeBatch(Tensor label, Tensor? instance, Tensor image, Tensor semantics, IReadOnlyList<string> paths,
        IReadOnlyList<int> indices, LoaderPosition position, LoaderPosition next)
    {
        Label = label;
        Instance = instance;
        Image = image;
        Semantics = semantics;
        Paths = paths;
        Indices = indices;
        Position = position;
        Next = next;
    }

    /// <summary>[N, 1, H, W] int64 class indices (255 mapped to label_nc).</summary>
    public Tensor Label { get; }

    /// <summary>[N, 1, H, W] int64 instance ids, or null when the data set has no instance maps.</summary>
    public Tensor? Instance { get; }

    /// <summary>[N, 3, H, W] float32 photo in [-1, 1].</summary>
    public Tensor Image { get; }

    /// <summary>[N, semantic_nc, H, W] float32: one-hot classes (+ don't-care) (+ instance edges).</summary>
    public Tensor Semantics { get; }

    /// <summary>Photo path of each sample.</summary>
    public IReadOnlyList<string> Paths { get; }

    /// <summary>Data set index of each sample.</summary>
    public IReadOnlyList<int> Indices { get; }

    /// <summary>Position of this batch's first sample.</summary>
    public LoaderPosition Position { get; }

    /// <summary>Position right after this batch; (epoch + 1, 0) after an epoch's last batch. Save this one.</summary>
    public LoaderPosition Next { get; }

    /// <summary>This batch with its photo and semantics in <paramref name="dtype"/>; it takes this batch's tensors over.</summary>
    internal SpadeBatch ToFloating(ScalarType dtype)
    {
        if (Image.dtype == dtype) return this;
        var batch = new SpadeBatch(Label, Instance, Image.to_type(dtype), Semantics.to_type(dtype), Paths, Indices, Position, Next);
        Image.Dispose();
        Semantics.Dispose();
        return batch;
    }

    public void Dispose()
    {
        Label.Dispose();
        Instance?.Dispose();
        Image.Dispose();
        Semantics.Dispose();
    }
}

/// <summary>How long the consumer waited for data, for throughput reports.</summary>
public sealed record LoaderStats(int Samples, TimeSpan Elapsed, TimeSpan ConsumerWaiting)
{
    /// <summary>Fraction of the wall time the consumer spent blocked on the loader.</summary>
    public double WaitFraction => Elapsed.Ticks == 0 ? 0 : (double)ConsumerWaiting.Ticks / Elapsed.Ticks;

    public double SamplesPerSecond => Elapsed.TotalSeconds == 0 ? 0 : Samples / Elapsed.TotalSeconds;
}

/// <summary>
/// Background prefetching loader. Order and augmentation are pure functions of (seed, epoch, position), never of
/// thread timing: the epoch's order is a permutation drawn from (seed, epoch) (file order with SerialBatches or at
/// test time), each sample's crop and flip come from (seed, epoch, index), and workers fill a bounded window that
/// the consumer drains strictly in order. Training drops the last incomplete batch, as the reference's
/// DataLoader(drop_last=isTrain).
/// </summary>
public sealed class SpadeLoader
{
    private readonly SpadeDataset _dataset;
    private LoaderStats _last = new(0, TimeSpan.Zero, TimeSpan.Zero);

    public SpadeLoader(SpadeDataset dataset) => _dataset = dataset;

    public SpadeDataset Dataset => _dataset;
    private DataOptions Options => _dataset.Options;

    /// <summary>Samples delivered per epoch (the incomplete tail is dropped when training).</summary>
    public int SamplesPerEpoch => Options.IsTrain ? _dataset.Count / Options.BatchSize * Options.BatchSize : _dataset.Count;

    /// <summary>Batches per epoch.</summary>
    public int BatchesPerEpoch => (SamplesPerEpoch + Options.BatchSize - 1) / Options.BatchSize;

    /// <summary>
    /// This process's rank among <c>Ranks</c> data-parallel ranks (0 of 1 alone): with several, each global batch of
    /// --batch-size samples is split contiguously and the rank delivers its part, as PyTorch's DistributedSampler.
    /// </summary>
    public (int Rank, int Ranks) Shard { get; init; } = (0, 1);

    /// <summary>Timing of the last finished or abandoned enumeration.</summary>
    public LoaderStats LastStats => _last;

    /// <summary>Data set indices in the order epoch <paramref name="epoch"/> visits them.</summary>
    public int[] Order(int epoch)
    {
        int n = _dataset.Count;
        if (Options.IsTrain && !Options.SerialBatches)
            return DeterministicRng.For(Options.Seed, stream: 0x5EED, epoch).Permutation(n);
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        return order;
    }

    /// <summary>Positions [i·B + r·b, i·B + (r+1)·b) of the epoch's order for each global batch i (B = b·ranks).</summary>
    internal static int[] ShardOrder(int[] order, int perEpoch, int batch, int rank, int ranks)
    {
        int local = batch / ranks, batches = perEpoch / batch;
        var mine = new int[batches * local];
        for (int i = 0; i < batches; i++) Array.Copy(order, i * batch + rank * local, mine, i * local, local);
        return mine;
    }

    /// <summary>
    /// The rest of epoch <c>start.Epoch</c> from sample <c>start.Index</c>, as tensor batches built on the calling
    /// thread. Call it once per epoch; to resume, pass the <see cref="SpadeBatch.Next"/> saved in a checkpoint.
    /// </summary>
    public IEnumerable<SpadeBatch> ReadEpoch(LoaderPosition start, CancellationToken cancel = default)
    {
        foreach (var (samples, pos, next) in ReadEpochSamples(start, cancel))
            yield return Collate(samples, pos, next);
    }

    /// <summary>Same as <see cref="ReadEpoch"/> but without tensors (tests, benchmarks, tools).</summary>
    public IEnumerable<(Sample[] Samples, LoaderPosition Position, LoaderPosition Next)> ReadEpochSamples(LoaderPosition start,
        CancellationToken cancel = default)
    {
        int perEpoch = SamplesPerEpoch;
        if (start.Index < 0 || start.Index > perEpoch)
            throw new GanSharpException(ErrorKind.Checkpoint,
                $"loader position index {start.Index} is outside epoch {start.Epoch}'s {perEpoch} samples: the data set changed since the "
                    + "checkpoint; resume from the next epoch or restore the data.");
        int batch = Options.BatchSize;
        var (rank, ranks) = Shard;
        // A rank reads its own slice of each global batch; positions stay global, so a resume may use another rank count.
        int local = batch / ranks;
        var order = ranks == 1 ? Order(start.Epoch) : ShardOrder(Order(start.Epoch), perEpoch, batch, rank, ranks);
        int first = ranks == 1 ? start.Index : start.Index / batch * local;
        int count = ranks == 1 ? perEpoch - start.Index : (perEpoch - start.Index) / batch * local;
        var sw = Stopwatch.StartNew();
        var waiting = TimeSpan.Zero;
        int delivered = 0;
        using var fetcher = new Prefetcher(_dataset, order, first, count, start.Epoch, Options.NumWorkers,
            Math.Max(2 * local, 2 * Options.NumWorkers), cancel);
        try
        {
            for (int k = 0; k < count; k += local)
            {
                int size = Math.Min(local, count - k);
                var samples = new Sample[size];
                for (int j = 0; j < size; j++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    samples[j] = fetcher.Take(k + j);
                    waiting += Stopwatch.GetElapsedTime(t0);
                }
                delivered += size;
                int at = start.Index + k / local * batch;
                int after = at + size * ranks;
                var next = after >= perEpoch ? new LoaderPosition(start.Epoch + 1, 0) : new LoaderPosition(start.Epoch, after);
                yield return (samples, new LoaderPosition(start.Epoch, at), next);
            }
        }
        finally
        {
            _last = new LoaderStats(delivered, sw.Elapsed, waiting);
        }
    }

    /// <summary>
    /// Stacks samples into a tensor batch on the calling thread (what <see cref="ReadEpoch"/> does per batch). The
    /// tensors share memory with the arrays they are built from (for a batch of one, the sample's own arrays), so
    /// treat the samples as consumed.
    /// </summary>
    public SpadeBatch Collate(Sample[] samples, LoaderPosition pos, LoaderPosition next)
    {
        var first = samples[0];
        int h = first.Height, w = first.Width, n = samples.Length, hw = h * w;
        foreach (var s in samples)
        {
            if (s.Width != w || s.Height != h)
                throw new GanSharpException(ErrorKind.Data,
                    $"{s.ImagePath} is {s.Width}x{s.Height} after preprocessing but {first.ImagePath} in the same batch is {w}x{h}: use a cropping "
                        + $"or fixed {DataOptionSpecs.PreprocessMode.Flag}, or {DataOptionSpecs.BatchSize.Flag} 1.");
        }
        int semC = samples[0].Semantics.Length / hw;
        // A batch of one wraps the sample's own arrays; nothing else holds them once collated.
        long[] label = n == 1 ? first.LabelInt64 : new long[n * hw];
        float[] image = n == 1 ? first.Image : new float[n * 3 * hw];
        float[] semantics = n == 1 ? first.Semantics : new float[n * semC * hw];
        long[]? inst = !_dataset.UsesInstances ? null : n == 1 ? first.InstanceInt64 : new long[n * hw];
        if (n > 1)
        {
            for (int i = 0; i < n; i++)
            {
                var s = samples[i];
                s.LabelInt64.CopyTo(label, i * hw);
                s.Image.CopyTo(image, i * 3 * hw);
                s.Semantics.CopyTo(semantics, i * semC * hw);
                s.InstanceInt64?.CopyTo(inst!, i * hw);
            }
        }
        var labelT = Wrap(label, new long[] { n, 1, h, w });
        var imageT = Wrap(image, new long[] { n, 3, h, w });
        var sem = Wrap(semantics, new long[] { n, semC, h, w });
        var instT = inst is null ? null : Wrap(inst, new long[] { n, 1, h, w });
        return new SpadeBatch(labelT, instT, imageT, sem,
            samples.Select(s => s.ImagePath).ToArray(), samples.Select(s => s.Index).ToArray(), pos, next);
    }

    /// <summary>
    /// A tensor over the array's own memory (pinned until the tensor's storage is freed). The arrays belong to one
    /// batch and are not written again, so sharing is safe, and it spares a copy: torch.tensor(array, shape) copies
    /// in parallel, which took up to 38 ms for 2 MB when the loader threads held both cores of this machine.
    /// </summary>
    private static Tensor Wrap(Array data, long[] shape)
    {
        using var flat = from_array(data);
        return flat.view(shape);
    }

    /// <summary>
    /// Worker threads that load positions [0, count) of one epoch into a bounded window. A worker takes a window
    /// slot before claiming a position, so at most <c>window</c> samples are in memory and the consumer, which
    /// takes positions strictly in order, can always make progress.
    /// </summary>
    private sealed class Prefetcher : IDisposable
    {
        private readonly SpadeDataset _ds;
        private readonly int[] _order;
        private readonly int _offset, _count, _epoch;
        private readonly Sample?[] _ready;
        private readonly SemaphoreSlim _window;
        private readonly CancellationTokenSource _stop;
        private readonly Thread[] _threads;
        private readonly object _lock = new();
        private int _nextClaim = -1;
        private ExceptionDispatchInfo? _error;

        public Prefetcher(SpadeDataset ds, int[] order, int offset, int count, int epoch, int workers, int window, CancellationToken cancel)
        {
            _ds = ds;
            _order = order;
            _offset = offset;
            _count = count;
            _epoch = epoch;
            _ready = new Sample?[Math.Max(0, count)];
            _window = new SemaphoreSlim(window, window);
            _stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            _threads = new Thread[count > 0 ? workers : 0];
            for (int i = 0; i < _threads.Length; i++)
            {
                // Dedicated threads: image decoding is long-running work that would starve the thread pool.
                _threads[i] = new Thread(Work) { IsBackground = true, Name = $"gansharp-loader-{i}" };
                _threads[i].Start();
            }
        }

        private void Work()
        {
            try
            {
                while (true)
                {
                    _window.Wait(_stop.Token);
                    int k = Interlocked.Increment(ref _nextClaim);
                    if (k >= _count) return;
                    var s = _ds.Load(_order[_offset + k], _epoch);
                    lock (_lock)
                    {
                        _ready[k] = s;
                        Monitor.PulseAll(_lock);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
            catch (Exception e)
            {
                lock (_lock)
                {
                    _error ??= ExceptionDispatchInfo.Capture(e);
                    Monitor.PulseAll(_lock);
                }
            }
        }

        public Sample Take(int k)
        {
            if (_threads.Length == 0)
            {
                _stop.Token.ThrowIfCancellationRequested();
                return _ds.Load(_order[_offset + k], _epoch);
            }
            lock (_lock)
            {
                while (_ready[k] is null)
                {
                    _error?.Throw();
                    _stop.Token.ThrowIfCancellationRequested();
                    // The timeout only rechecks cancellation; results arrive through PulseAll.
                    Monitor.Wait(_lock, 100);
                }
                var s = _ready[k]!;
                _ready[k] = null;
                _window.Release();
                return s;
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            foreach (var t in _threads) t.Join();
            _stop.Dispose();
            _window.Dispose();
        }
    }
}
