using System.Collections;
using System.IO.Compression;
using Razorvine.Pickle;
using static TorchSharp.torch;

namespace GanSharp.Tests.Spade;

// TEST-ONLY stand-in: a minimal reader of PyTorch's zip .pth format, enough for the spade-tiny fixtures.
// To be replaced by GanSharp.Interop's .pth reader once it lands on main.

/// <summary>An OrderedDict from a pickle: insertion-ordered keys; the <c>_metadata</c> attribute is accepted and dropped.</summary>
// Razorvine's SETITEMS casts the target to Hashtable, so this is one, with the insertion order kept aside.
#pragma warning disable CA1010, CA2237
internal sealed class PyOrderedDict : Hashtable
{
    private readonly List<object> order = new();

    public override object? this[object key] {
        get => base[key];
        set {
            if (!ContainsKey(key)) order.Add(key);
            base[key] = value;
        }
    }

    public override void Add(object key, object? value)
    {
        order.Add(key);
        base.Add(key, value);
    }

    /// <summary>
    /// Keys in file order. Python pickles dict items in SETITEMS batches of up to 1000, and Razorvine inserts each
    /// batch last-to-first, so for the fixtures (all below 1000 entries) the file order is the reverse.
    /// </summary>
    public IEnumerable<object> OrderedKeys
    {
        get {
            if (order.Count > 1000) throw new NotSupportedException("The test-only reader keeps order only up to 1000 entries.");
            return Enumerable.Reverse(order);
        }
    }

    // BUILD with the OrderedDict's attribute dict (holds _metadata, which a state_dict reader does not need).
    public void __setstate__(object state) { }
}
#pragma warning restore CA1010, CA2237

/// <summary>Reads a .pth written by torch.save in the zip format into tensors, dicts, lists and scalars.</summary>
internal static class TestPth
{
    private sealed record StorageType(ScalarType Dtype, int ElementSize);

    private sealed class StorageTypeConstructor(ScalarType dtype, int size) : IObjectConstructor
    {
        public StorageType Type { get; } = new(dtype, size);
        public object construct(object[] args) => throw new NotSupportedException();
    }

    private sealed class Ctor(Func<object[], object> f) : IObjectConstructor
    {
        public object construct(object[] args) => f(args);
    }

    private sealed record StorageRef(StorageType Type, string Key);

    private sealed class TorchUnpickler(ZipArchive zip, string root) : Unpickler
    {
        private readonly Dictionary<string, Tensor> storages = new();

        protected override object persistentLoad(object pid)
        {
            var t = (object[])pid;
            if ((string)t[0] != "storage") throw new NotSupportedException($"persistent id {t[0]}");
            var type = ((StorageTypeConstructor)t[1]).Type;
            return new StorageRef(type, (string)t[2]);
        }

        public Tensor StorageTensor(StorageRef r)
        {
            if (storages.TryGetValue(r.Key, out var s)) return s;
            var entry = zip.GetEntry($"{root}/data/{r.Key}") ?? throw new InvalidDataException($"missing storage {r.Key}");
            using var ms = new MemoryStream();
            using (var es = entry.Open()) es.CopyTo(ms);
            var bytes = ms.ToArray();
            long n = bytes.Length / r.Type.ElementSize;
            Tensor t = r.Type.Dtype switch {
                ScalarType.Float32 => tensor(MemoryMarshalCast<float>(bytes), new[] { n }),
                ScalarType.Float64 => tensor(MemoryMarshalCast<double>(bytes), new[] { n }),
                ScalarType.Int64 => tensor(MemoryMarshalCast<long>(bytes), new[] { n }),
                ScalarType.Int32 => tensor(MemoryMarshalCast<int>(bytes), new[] { n }),
                ScalarType.Byte => tensor(bytes, new[] { n }),
                ScalarType.Bool => tensor(bytes.Select(b => b != 0).ToArray(), new[] { n }),
                _ => throw new NotSupportedException(r.Type.Dtype.ToString()),
            };
            t.DetachFromDisposeScope();
            storages[r.Key] = t;
            return t;
        }

        private static T[] MemoryMarshalCast<T>(byte[] bytes) where T : struct =>
            System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(bytes).ToArray();

        public void DisposeStorages()
        {
            foreach (var s in storages.Values) s.Dispose();
        }
    }

    private static readonly object Gate = new();
    [ThreadStatic] private static TorchUnpickler? current;

    static TestPth()
    {
        Unpickler.registerConstructor("collections", "OrderedDict", new Ctor(_ => new PyOrderedDict()));
        Unpickler.registerConstructor("torch", "FloatStorage", new StorageTypeConstructor(ScalarType.Float32, 4));
        Unpickler.registerConstructor("torch", "DoubleStorage", new StorageTypeConstructor(ScalarType.Float64, 8));
        Unpickler.registerConstructor("torch", "LongStorage", new StorageTypeConstructor(ScalarType.Int64, 8));
        Unpickler.registerConstructor("torch", "IntStorage", new StorageTypeConstructor(ScalarType.Int32, 4));
        Unpickler.registerConstructor("torch", "ByteStorage", new StorageTypeConstructor(ScalarType.Byte, 1));
        Unpickler.registerConstructor("torch", "BoolStorage", new StorageTypeConstructor(ScalarType.Bool, 1));
        Unpickler.registerConstructor("torch.torch_version", "TorchVersion", new Ctor(a => a.Length > 0 ? a[0] : ""));
        Unpickler.registerConstructor("torch._utils", "_rebuild_tensor_v2", new Ctor(a => RebuildTensor(a)));
    }

    private static Tensor RebuildTensor(object[] a)
    {
        var r = (StorageRef)a[0];
        long offset = Convert.ToInt64(a[1]);
        long[] size = ((object[])a[2]).Select(Convert.ToInt64).ToArray();
        long[] stride = ((object[])a[3]).Select(Convert.ToInt64).ToArray();
        var storage = current!.StorageTensor(r);
        using var view = storage.as_strided(size, stride, offset);
        var t = view.clone();
        t.DetachFromDisposeScope();
        return t;
    }

    /// <summary>Loads the object of a zip-format .pth. Tensors are owned by the caller.</summary>
    public static object Load(string path)
    {
        lock (Gate) {
            using var zip = ZipFile.OpenRead(path);
            var pkl = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal))
                ?? throw new InvalidDataException($"{path} is not a zip-format .pth");
            string root = pkl.FullName[..^"/data.pkl".Length];
            using var u = new TorchUnpickler(zip, root);
            current = u;
            try {
                using var s = pkl.Open();
                return u.load(s);
            } finally {
                current = null;
                u.DisposeStorages();
            }
        }
    }

    public static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "spade-tiny", name);

    /// <summary>A state_dict (or any str -> tensor dict) in file order.</summary>
    public static List<(string Key, Tensor Value)> LoadStateDict(string fixture)
    {
        var d = (PyOrderedDict)Load(Fixture(fixture));
        return d.OrderedKeys.Select(k => ((string)k, (Tensor)d[k]!)).ToList();
    }

    /// <summary>A dict of mixed values (the *_batch and *_expected files).</summary>
    public static Dictionary<string, object?> LoadDict(string fixture)
    {
        var o = Load(Fixture(fixture));
        var result = new Dictionary<string, object?>();
        foreach (DictionaryEntry e in (IDictionary)o) result[(string)e.Key] = e.Value;
        return result;
    }
}
