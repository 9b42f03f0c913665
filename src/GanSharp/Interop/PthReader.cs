using System.Buffers.Binary;
using System.IO.Compression;
using TorchSharp;
using static TorchSharp.torch;

namespace GanSharp.Interop;

/// <summary>
/// Reads PyTorch <c>torch.save</c> files — the zip format (torch ≥ 1.6) and the legacy format (torch &lt; 1.6, as in
/// NVlabs' published SPADE checkpoints) — like <c>torch.load(weights_only=True)</c>: only the globals a state dict or
/// an optimizer state needs are accepted; any other global refuses the file, so a checkpoint can never run code.
/// </summary>
public static class PthReader
{
    private const ulong LegacyMagic = 0x1950a86a20f9469cUL; // low 64 bits of 0x1950a86a20f9469cfc6c
    private static readonly System.Numerics.BigInteger LegacyMagicFull =
        System.Numerics.BigInteger.Parse("1950a86a20f9469cfc6c", System.Globalization.NumberStyles.HexNumber);

    /// <summary>Reads a state dict (an OrderedDict of name → tensor, possibly nested under "state_dict").</summary>
    public static StateDict ReadStateDict(string path)
    {
        using var fs = Open(path);
        return ReadStateDict(fs, path);
    }

    /// <summary>Reads a state dict from a seekable stream; <paramref name="path"/> is named in error messages.</summary>
    internal static StateDict ReadStateDict(Stream stream, string path)
    {
        var obj = Read(stream, path);
        if (obj is Dictionary<object, object?> wrapper && wrapper.TryGetValue("state_dict", out var inner)) obj = inner;
        var sd = new StateDict();
        switch (obj)
        {
            case OrderedDict od:
                foreach (var k in od.Keys) sd.Add(AsKey(path, k), od[k] as Tensor ?? throw NotStateDict(path, k));
                return sd;
            case Dictionary<object, object?> d:
                foreach (var (k, v) in d) sd.Add(AsKey(path, k), v as Tensor ?? throw NotStateDict(path, k));
                return sd;
            default:
                throw new GanSharpException(ErrorKind.Checkpoint,
                    $"{path} holds a {Describe(obj)}, not a state dict of name → tensor: save `model.state_dict()` instead of the model.");
        }
    }

    /// <summary>
    /// Reads any allowed object graph: dicts (<see cref="Dictionary{TKey,TValue}"/> or <see cref="OrderedDict"/>),
    /// lists, <see cref="PickleTuple"/>s, strings, long, double, bool, null and tensors.
    /// </summary>
    public static object? Read(string path)
    {
        using var fs = Open(path);
        return Read(fs, path);
    }

    private static FileStream Open(string path)
    {
        if (!File.Exists(path))
            throw new GanSharpException(ErrorKind.BadInput, $"{path} does not exist: check the checkpoint path.");
        try
        {
            return File.OpenRead(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new GanSharpException(ErrorKind.BadInput, $"{path} cannot be read ({e.Message}): check its permissions.", e);
        }
    }

    /// <summary>
    /// Reads from a seekable stream (a file, or bytes in memory for tests); <paramref name="path"/> is named in
    /// error messages. Every malformed input ends in a <see cref="GanSharpException"/> of kind Checkpoint.
    /// </summary>
    internal static object? Read(Stream stream, string path)
    {
        try
        {
            var head = new byte[4];
            int n = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            stream.Position = 0;
            if (n == 4 && head[0] == 'P' && head[1] == 'K') return ReadZip(path, stream);
            if (n >= 2 && head[0] == 0x80) return ReadLegacy(path, stream);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            // ZipArchive, zlib and Stream.ReadExactly report damage this way (EndOfStreamException and zlib's
            // errors are IOExceptions); the user needs the file named instead.
            throw Damaged(path, e.Message.TrimEnd('.'), e);
        }
        throw new GanSharpException(ErrorKind.Checkpoint,
            $"{path} is neither a zip-format nor a legacy PyTorch file: is it a .pth/.pt written by torch.save?");
    }

    /// <summary>The one sentence for a file whose bytes do not add up: <paramref name="detail"/> says where.</summary>
    internal static GanSharpException Damaged(string path, string detail, Exception? inner = null)
    {
        string message = $"{path} is cut short or damaged ({detail}): copy it again, or save it again with torch.save.";
        return inner is null ? new GanSharpException(ErrorKind.Checkpoint, message) : new GanSharpException(ErrorKind.Checkpoint, message, inner);
    }

    // Deflate expands at most 1032-fold; an entry that claims more than that is damaged, and its size must not be
    // trusted for an allocation.
    private const long MaxDeflateRatio = 1032;

    private static byte[] ReadEntry(string path, ZipArchiveEntry entry, long archiveLength)
    {
        long length = entry.Length, compressed = entry.CompressedLength;
        if (length < 0 || compressed < 0 || compressed > archiveLength || length > compressed * MaxDeflateRatio + 1024 || length > Array.MaxLength)
            throw Damaged(path, $"zip entry {entry.FullName} claims {length} bytes from {compressed} stored ones in a file of {archiveLength}");
        var bytes = new byte[length];
        using (var es = entry.Open()) es.ReadExactly(bytes);
        // System.IO.Compression checks no CRC when exactly the entry's length is read, and a flipped bit in a
        // storage would otherwise load as a slightly different weight without a word.
        if (Crc32.Compute(bytes) != entry.Crc32)
            throw Damaged(path, $"zip entry {entry.FullName} fails its CRC check");
        return bytes;
    }

    private static object? ReadZip(string path, Stream fs)
    {
        using var zip = new ZipArchive(fs, ZipArchiveMode.Read, leaveOpen: true);
        var pkl = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) || e.FullName == "data.pkl")
            ?? throw new GanSharpException(ErrorKind.Checkpoint, $"{path} is a zip file without data.pkl, so not a PyTorch checkpoint.");
        string prefix = pkl.FullName[..^"data.pkl".Length];
        var byteOrder = zip.GetEntry(prefix + "byteorder");
        if (byteOrder != null && System.Text.Encoding.ASCII.GetString(ReadEntry(path, byteOrder, fs.Length)).Trim() != "little")
            throw new GanSharpException(ErrorKind.Checkpoint, $"{path} was saved on a big-endian machine, which GanSharp does not read.");
        var storages = new Dictionary<string, Storage>();
        var ctx = new Context(path);
        byte[] pickle = ReadEntry(path, pkl, fs.Length);
        object? root;
        using (var ps = new MemoryStream(pickle, writable: false))
        {
            root = ctx.Reader(ps, pid =>
            {
                var t = pid as PickleTuple;
                if (t is null || t.Count < 5 || t[0] as string != "storage")
                    throw ctx.Refuse("a persistent id that is not a tensor storage");
                string key = t[2] as string ?? throw ctx.Refuse("a storage without a key");
                var dtype = t[1] is StorageType type ? type.DType : throw ctx.Refuse("a storage whose type is not a torch storage class");
                if (!storages.TryGetValue(key, out var st))
                {
                    var entry = zip.GetEntry(prefix + "data/" + key)
                        ?? throw Damaged(path, $"the storage record data/{key} is missing");
                    st = new Storage(dtype) { Bytes = ReadEntry(path, entry, fs.Length) };
                    storages[key] = st;
                }
                return st;
            }).Load();
        }
        return Materialize(path, root);
    }

    private static object? ReadLegacy(string path, Stream raw)
    {
        var fs = new BufferedStream(raw);
        var ctx = new Context(path, () => fs.Length - fs.Position);
        Func<object?, object?> noStorage = _ => throw ctx.Refuse("a persistent id in its header");
        var magic = ctx.Reader(fs, noStorage).Load();
        bool magicOk = magic switch
        {
            System.Numerics.BigInteger b => b == LegacyMagicFull,
            long l => (ulong)l == LegacyMagic,
            _ => false,
        };
        if (!magicOk)
            throw new GanSharpException(ErrorKind.Checkpoint, $"{path} is a pickle but not a torch.save file (wrong magic number).");
        var protocol = ctx.Reader(fs, noStorage).Load();
        if (protocol is not long p || p != 1001)
            throw new GanSharpException(ErrorKind.Checkpoint, $"{path} uses legacy protocol {protocol}, GanSharp reads 1001.");
        var sysInfo = ctx.Reader(fs, noStorage).Load() as Dictionary<object, object?>;
        if (sysInfo != null && sysInfo.TryGetValue("little_endian", out var le) && le is false)
            throw new GanSharpException(ErrorKind.Checkpoint, $"{path} was saved on a big-endian machine, which GanSharp does not read.");

        var storages = new Dictionary<string, Storage>();
        var root = ctx.Reader(fs, pid =>
        {
            var t = pid as PickleTuple;
            if (t is null || t.Count < 5 || t[0] as string != "storage")
                throw ctx.Refuse("a persistent id that is not a tensor storage");
            string key = t[2] as string ?? throw ctx.Refuse("a storage without a key");
            var dtype = t[1] is StorageType type ? type.DType : throw ctx.Refuse("a storage whose type is not a torch storage class");
            if (!storages.TryGetValue(key, out var st))
            {
                st = new Storage(dtype) { Numel = ctx.Count(t[4], "storage size") };
                storages[key] = st;
            }
            if (t.Count > 5 && t[5] is PickleTuple view)
            {
                // A legacy view shares its root storage from an element offset.
                if (view.Count < 3) throw ctx.Refuse("a malformed storage view");
                string viewKey = view[0] as string ?? throw ctx.Refuse("a storage view without a key");
                long offset = ctx.Count(view[1], "storage view offset");
                long size = ctx.Count(view[2], "storage view size");
                if (!storages.TryGetValue(viewKey, out var vs))
                {
                    vs = new Storage(dtype) { Root = st, RootOffset = offset, Numel = size };
                    storages[viewKey] = vs;
                }
                return vs;
            }
            return st;
        }).Load();

        var keys = ctx.Reader(fs, noStorage).Load() as List<object?>
            ?? throw new GanSharpException(ErrorKind.Checkpoint, $"{path} lacks the list of storage keys after its object: the file is damaged.");
        var header = new byte[8];
        foreach (var k in keys)
        {
            string key = k as string ?? throw ctx.Refuse("a storage key that is not a string");
            if (!storages.TryGetValue(key, out var st))
                throw new GanSharpException(ErrorKind.Checkpoint, $"{path} has data for storage {key} that its object never uses: the file is damaged.");
            fs.ReadExactly(header);
            long numel = BinaryPrimitives.ReadInt64LittleEndian(header);
            long left = fs.Length - fs.Position;
            if (numel < 0 || numel > left / ElementSize(st.DType))
                throw Damaged(path, $"storage {key} claims {numel} elements of {ElementSize(st.DType)} bytes but {left} bytes remain");
            var bytes = new byte[numel * ElementSize(st.DType)];
            fs.ReadExactly(bytes);
            st.Bytes = bytes;
        }
        return Materialize(path, root);
    }

    // State dicts and optimizer states nest a few levels; a pickle that nests deeper is damaged, and deep or cyclic
    // nesting would overflow the stack here and in every caller that walks the result.
    private const int MaxDepth = 100;

    private static object? Materialize(string path, object? root) =>
        Materialize(path, root, new HashSet<object>(ReferenceEqualityComparer.Instance), new HashSet<object>(ReferenceEqualityComparer.Instance), 0);

    private static object? Materialize(string path, object? node, HashSet<object> open, HashSet<object> done, int depth)
    {
        if (node is PendingTensor pt) return pt.Build(path);
        if (node is not (OrderedDict or Dictionary<object, object?> or List<object?> or PickleTuple)) return node;
        // A container shared through the pickle memo is built once; one reached again while still open is a cycle.
        if (done.Contains(node)) return node;
        if (open.Contains(node)) throw Damaged(path, "a container holds itself");
        if (depth >= MaxDepth) throw Damaged(path, $"containers nest more than {MaxDepth} deep");
        open.Add(node);
        object? M(object? child) => Materialize(path, child, open, done, depth + 1);
        switch (node)
        {
            case OrderedDict od:
                foreach (var k in od.Keys.ToList()) od.Set(k, M(od[k]));
                foreach (var k in od.Attributes.Keys.ToList()) od.Attributes[k] = M(od.Attributes[k]);
                break;
            case Dictionary<object, object?> d:
                foreach (var k in d.Keys.ToList()) d[k] = M(d[k]);
                break;
            case List<object?> l:
                for (int i = 0; i < l.Count; i++) l[i] = M(l[i]);
                break;
            case PickleTuple t:
                for (int i = 0; i < t.Items.Length; i++) t.Items[i] = M(t.Items[i]);
                break;
        }
        open.Remove(node);
        done.Add(node);
        return node;
    }

    /// <summary>A 1-D tensor of <paramref name="numel"/> elements copied from raw little-endian bytes.</summary>
    internal static Tensor FromBytes(byte[] bytes, ScalarType dtype, long numel)
    {
        var t = torch.empty(numel, dtype: dtype);
        t.bytes = bytes.AsSpan(0, checked((int)(numel * ElementSize(dtype))));
        return t;
    }

    internal static int ElementSize(ScalarType t) => t switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        ScalarType.Byte or ScalarType.Int8 or ScalarType.Bool => 1,
        _ => throw new NotSupportedException($"dtype {t}"),
    };

    private static string AsKey(string path, object k) => k as string
        ?? throw new GanSharpException(ErrorKind.Checkpoint, $"{path} has a state-dict key {k} that is not a string.");

    private static GanSharpException NotStateDict(string path, object key) =>
        new(ErrorKind.Checkpoint, $"{path} has a non-tensor value under '{key}', so it is not a plain state dict.");

    private static string Describe(object? o) => o switch
    {
        null => "None",
        List<object?> => "list",
        PickleTuple => "tuple",
        Tensor => "single tensor",
        _ => o.GetType().Name,
    };

    internal static readonly IReadOnlyDictionary<string, ScalarType> StorageTypes = new Dictionary<string, ScalarType>
    {
        ["FloatStorage"] = ScalarType.Float32,
        ["DoubleStorage"] = ScalarType.Float64,
        ["HalfStorage"] = ScalarType.Float16,
        ["BFloat16Storage"] = ScalarType.BFloat16,
        ["LongStorage"] = ScalarType.Int64,
        ["IntStorage"] = ScalarType.Int32,
        ["ShortStorage"] = ScalarType.Int16,
        ["CharStorage"] = ScalarType.Int8,
        ["ByteStorage"] = ScalarType.Byte,
        ["BoolStorage"] = ScalarType.Bool,
    };

    private sealed record StorageType(ScalarType DType);

    private sealed record Callable(string Name);

    private sealed class Storage(ScalarType dtype)
    {
        public ScalarType DType { get; } = dtype;
        public byte[]? Bytes { get; set; }
        public long Numel { get; set; }
        public Storage? Root { get; init; }
        public long RootOffset { get; init; }

        public (byte[] Bytes, long ElementOffset) Resolve(string path)
        {
            // Iterative: a damaged file can chain views thousands deep.
            long offset = 0;
            var s = this;
            while (s.Root != null)
            {
                // Saturating, so that a damaged chain of huge offsets is "past its storage", not an overflow.
                offset = Math.Min(offset, long.MaxValue / 4) + Math.Min(s.RootOffset, long.MaxValue / 4);
                s = s.Root;
            }
            return (s.Bytes ?? throw Damaged(path, "it ends before the data of one of its tensors"), offset);
        }
    }

    private sealed class PendingTensor(Storage storage, long offset, long[] size, long[] stride, bool requiresGrad)
    {
        public Tensor Build(string path)
        {
            var (bytes, baseOffset) = storage.Resolve(path);
            int es = ElementSize(storage.DType);
            long available = bytes.Length / es;
            if (size.Length != stride.Length || size.Any(x => x < 0) || stride.Any(x => x < 0) || offset < 0)
                throw Damaged(path, $"a tensor has size ({string.Join(", ", size)}), stride ({string.Join(", ", stride)}) and offset {offset}");
            bool fits = baseOffset <= available && offset <= available;
            long numel = size.Any(x => x == 0) ? 0 : 1, last = baseOffset + offset;
            // Every factor and term is checked against the storage before it is used, so nothing here overflows:
            // numel, size and stride stay below 2^31 (Array.MaxLength), their products below 2^62.
            for (int i = 0; i < size.Length && numel > 0 && fits; i++)
            {
                fits = size[i] <= available && (size[i] == 1 || stride[i] <= available);
                if (!fits) break;
                numel *= size[i];
                if (size[i] > 1) last += (size[i] - 1) * stride[i];
                fits = numel <= available && last < available;
            }
            // A tensor needs no more elements than its storage holds, which also bounds the memory a file can ask for
            // (a stride-0 tensor larger than its storage could, but torch.save of a state dict never writes one).
            if (!fits || (numel > 0 && last >= available))
                throw Damaged(path, $"a tensor of size ({string.Join(", ", size)}) reaches past its storage of {available} elements");
            using var flat = FromBytes(bytes, storage.DType, available);
            using var view = flat.as_strided(size, stride, baseOffset + offset);
            var t = view.clone();
            if (requiresGrad) t.requires_grad_(true);
            return t;
        }
    }

    private sealed class Context(string path, Func<long>? available = null)
    {
        /// <summary>A non-negative count or offset from the pickle; anything else means the file is damaged.</summary>
        public long Count(object? o, string what) => o is long v && v >= 0 ? v : throw Damaged(path, $"a {what} is {o ?? "None"}");

        public GanSharpException Refuse(string what) =>
            new(ErrorKind.Checkpoint, $"{path} was refused: it contains {what}, and GanSharp loads only plain state dicts so that a checkpoint cannot run code.");

        public PickleReader Reader(Stream s, Func<object?, object?> persistentLoad) =>
            new(s, path, available?.Invoke() ?? s.Length - s.Position, ResolveGlobal, Call, persistentLoad, Build);

        private object ResolveGlobal(PickleGlobal g)
        {
            if (g.Module == "collections" && g.Name == "OrderedDict") return new Callable("OrderedDict");
            if (g.Module == "torch._utils" && g.Name is "_rebuild_tensor_v2" or "_rebuild_tensor" or "_rebuild_parameter")
                return new Callable(g.Name);
            if (g.Module == "torch" && StorageTypes.TryGetValue(g.Name, out var dt)) return new StorageType(dt);
            if (g.Module == "torch.torch_version" && g.Name == "TorchVersion") return new Callable("TorchVersion");
            throw Refuse($"the Python global {g}");
        }

        private object? Call(object fn, object?[] args)
        {
            if (fn is not Callable c) throw Refuse($"a call of {fn}");
            switch (c.Name)
            {
                case "OrderedDict":
                    return new OrderedDict();
                case "TorchVersion":
                    return args.Length == 1 && args[0] is string s ? s : throw Refuse("a malformed TorchVersion");
                case "_rebuild_tensor":
                case "_rebuild_tensor_v2":
                {
                    if (args.Length < 4 || args[0] is not Storage st) throw Refuse("a malformed tensor record");
                    long off = Count(args[1], "tensor offset");
                    long[] size = Longs(args[2]);
                    long[] stride = Longs(args[3]);
                    bool rg = args.Length > 4 && args[4] is true;
                    return new PendingTensor(st, off, size, stride, rg);
                }
                case "_rebuild_parameter":
                    return args.Length >= 1 && args[0] is PendingTensor p ? p : throw Refuse("a malformed parameter record");
                default:
                    throw Refuse($"a call of {c.Name}");
            }
        }

        private long[] Longs(object? o) => o is PickleTuple t
            ? t.Items.Select(x => Count(x, "tensor size or stride")).ToArray()
            : throw Refuse("a tensor size that is not a tuple");

        private void Build(object target, object? state)
        {
            if (target is OrderedDict od && state is Dictionary<object, object?> attrs)
            {
                // state_dict()._metadata (per-module versions) arrives this way; keep it for the writer.
                foreach (var (k, v) in attrs) od.Attributes[k as string ?? "?"] = v;
                return;
            }
            throw Refuse($"object state for a {target.GetType().Name}");
        }
    }
}
