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
        var obj = Read(path);
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
        if (!File.Exists(path))
            throw new GanSharpException(ErrorKind.BadInput, $"{path} does not exist: check the checkpoint path.");
        using var fs = File.OpenRead(path);
        var head = new byte[4];
        int n = fs.Read(head);
        fs.Position = 0;
        if (n == 4 && head[0] == 'P' && head[1] == 'K') return ReadZip(path, fs);
        if (n >= 2 && head[0] == 0x80) return ReadLegacy(path, fs);
        throw new GanSharpException(ErrorKind.Checkpoint,
            $"{path} is neither a zip-format nor a legacy PyTorch file: is it a .pth/.pt written by torch.save?");
    }

    private static object? ReadZip(string path, Stream fs)
    {
        using var zip = new ZipArchive(fs, ZipArchiveMode.Read, leaveOpen: true);
        var pkl = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) || e.FullName == "data.pkl")
            ?? throw new GanSharpException(ErrorKind.Checkpoint, $"{path} is a zip file without data.pkl, so not a PyTorch checkpoint.");
        string prefix = pkl.FullName[..^"data.pkl".Length];
        var byteOrder = zip.GetEntry(prefix + "byteorder");
        if (byteOrder != null)
        {
            using var r = new StreamReader(byteOrder.Open());
            if (r.ReadToEnd().Trim() != "little")
                throw new GanSharpException(ErrorKind.Checkpoint, $"{path} was saved on a big-endian machine, which GanSharp does not read.");
        }
        var storages = new Dictionary<string, Storage>();
        var ctx = new Context(path);
        object? root;
        using (var ps = pkl.Open())
        using (var buffered = new BufferedStream(ps))
        {
            root = ctx.Reader(buffered, pid =>
            {
                var t = pid as PickleTuple;
                if (t is null || t.Count < 5 || t[0] as string != "storage")
                    throw ctx.Refuse("a persistent id that is not a tensor storage");
                string key = t[2] as string ?? throw ctx.Refuse("a storage without a key");
                if (!storages.TryGetValue(key, out var st))
                {
                    var entry = zip.GetEntry(prefix + "data/" + key)
                        ?? throw new GanSharpException(ErrorKind.Checkpoint, $"{path} lacks the storage record data/{key}: the file is damaged.");
                    var dtype = ((StorageType)t[1]!).DType;
                    var bytes = new byte[entry.Length];
                    using (var es = entry.Open()) es.ReadExactly(bytes);
                    st = new Storage(dtype) { Bytes = bytes };
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
        var ctx = new Context(path);
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
            var dtype = ((StorageType)t[1]!).DType;
            if (!storages.TryGetValue(key, out var st))
            {
                st = new Storage(dtype) { Numel = Convert.ToInt64(t[4], System.Globalization.CultureInfo.InvariantCulture) };
                storages[key] = st;
            }
            if (t.Count > 5 && t[5] is PickleTuple view)
            {
                // A legacy view shares its root storage from an element offset.
                string viewKey = view[0] as string ?? throw ctx.Refuse("a storage view without a key");
                long offset = Convert.ToInt64(view[1], System.Globalization.CultureInfo.InvariantCulture);
                long size = Convert.ToInt64(view[2], System.Globalization.CultureInfo.InvariantCulture);
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
            var bytes = new byte[checked(numel * ElementSize(st.DType))];
            fs.ReadExactly(bytes);
            st.Bytes = bytes;
        }
        return Materialize(path, root);
    }

    private static object? Materialize(string path, object? node)
    {
        switch (node)
        {
            case PendingTensor pt:
                return pt.Build(path);
            case OrderedDict od:
                foreach (var k in od.Keys.ToList()) od.Set(k, Materialize(path, od[k]));
                foreach (var k in od.Attributes.Keys.ToList()) od.Attributes[k] = Materialize(path, od.Attributes[k]);
                return od;
            case Dictionary<object, object?> d:
                foreach (var k in d.Keys.ToList()) d[k] = Materialize(path, d[k]);
                return d;
            case List<object?> l:
                for (int i = 0; i < l.Count; i++) l[i] = Materialize(path, l[i]);
                return l;
            case PickleTuple t:
                for (int i = 0; i < t.Items.Length; i++) t.Items[i] = Materialize(path, t.Items[i]);
                return t;
            default:
                return node;
        }
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
            if (Root != null)
            {
                var (b, o) = Root.Resolve(path);
                return (b, o + RootOffset);
            }
            return (Bytes ?? throw new GanSharpException(ErrorKind.Checkpoint, $"{path} ends before the data of one of its tensors: the file is truncated."), 0);
        }
    }

    private sealed class PendingTensor(Storage storage, long offset, long[] size, long[] stride, bool requiresGrad)
    {
        public Tensor Build(string path)
        {
            var (bytes, baseOffset) = storage.Resolve(path);
            int es = ElementSize(storage.DType);
            long available = bytes.Length / es;
            long numel = size.Aggregate(1L, (a, b) => a * b);
            long last = baseOffset + offset + (numel == 0 ? 0 : size.Zip(stride, (s, st) => (s - 1) * st).Sum());
            if (numel > 0 && last >= available)
                throw new GanSharpException(ErrorKind.Checkpoint, $"{path} has a tensor that reaches past its storage: the file is damaged.");
            using var flat = FromBytes(bytes, storage.DType, available);
            using var view = flat.as_strided(size, stride, baseOffset + offset);
            var t = view.clone();
            if (requiresGrad) t.requires_grad_(true);
            return t;
        }
    }

    private sealed class Context(string path)
    {
        public GanSharpException Refuse(string what) =>
            new(ErrorKind.Checkpoint, $"{path} was refused: it contains {what}, and GanSharp loads only plain state dicts so that a checkpoint cannot run code.");

        public PickleReader Reader(Stream s, Func<object?, object?> persistentLoad) =>
            new(s, path, ResolveGlobal, Call, persistentLoad, Build);

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
                    long off = Convert.ToInt64(args[1], System.Globalization.CultureInfo.InvariantCulture);
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
            ? t.Items.Select(x => Convert.ToInt64(x, System.Globalization.CultureInfo.InvariantCulture)).ToArray()
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
