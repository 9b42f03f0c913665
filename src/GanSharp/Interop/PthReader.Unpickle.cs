using TorchSharp;
using static TorchSharp.torch;

namespace GanSharp.Interop;

// What the unpickler builds before tensors exist: storages, pending tensors and the reading context, then
// Materialize turns the pickle's tree into tensors and collections.
internal static partial class PthReader
{
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
            new(ErrorKind.Checkpoint, $"{path} was refused: it contains {what}, and GanSharp loads only plain state dicts so that a checkpoint "
                + $"cannot run code.");

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
