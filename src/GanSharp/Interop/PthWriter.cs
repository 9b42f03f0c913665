using System.Buffers.Binary;
using System.Text;
using static TorchSharp.torch;

namespace GanSharp.Interop;

/// <summary>Which container <see cref="PthWriter"/> writes.</summary>
public enum PthFormat
{
    /// <summary>The zip format of torch ≥ 1.6 (torch.save's default).</summary>
    Zip,
    /// <summary>The legacy format of torch &lt; 1.6 (<c>_use_new_zipfile_serialization=False</c>).</summary>
    Legacy,
}

/// <summary>
/// Writes files that PyTorch's <c>torch.load</c> reads: state dicts (as an OrderedDict) and optimizer states (dicts of
/// ints, floats, tuples, lists and tensors). Every write goes through a temporary file and a rename.
/// </summary>
internal static class PthWriter
{
    public static void WriteStateDict(string path, StateDict stateDict, PthFormat format = PthFormat.Zip) =>
        Write(path, stateDict, format);

    /// <summary>
    /// Writes an object graph: <see cref="StateDict"/> (as OrderedDict), <see cref="Dictionary{TKey,TValue}"/> with
    /// string/long keys, <see cref="List{T}"/>, <see cref="PickleTuple"/>, string, int/long, float/double, bool, null, Tensor.
    /// </summary>
    public static void Write(string path, object? root, PthFormat format = PthFormat.Zip) =>
        Write(path, root, format, StoredZipWriter.Max32);

    /// <summary>As above; <paramref name="zip64From"/> lets a test get ZIP64 records without writing 4 GiB.</summary>
    internal static void Write(string path, object? root, PthFormat format, long zip64From) =>
        AtomicFile.Write(path, s => Write(s, root, format, zip64From));

    /// <summary>Writes an object graph (as <see cref="Write(string, object?, PthFormat)"/>) to a stream.</summary>
    public static void Write(Stream s, object? root, PthFormat format = PthFormat.Zip, long zip64From = StoredZipWriter.Max32)
    {
        var storages = new List<(string Key, Tensor Data)>();
        try
        {
            var pickle = new PickleWriter(storages, legacy: format == PthFormat.Legacy);
            byte[] obj = pickle.Dump(root);
            if (format == PthFormat.Zip) WriteZip(s, obj, storages, zip64From);
            else WriteLegacy(s, obj, storages);
        }
        finally
        {
            foreach (var (_, t) in storages) t.Dispose();
        }
    }

    private static void WriteLegacy(Stream s, byte[] obj, List<(string Key, Tensor Data)> storages)
    {
        var header = new PickleWriter([], legacy: true);
        s.Write(header.Dump(System.Numerics.BigInteger.Parse("1950a86a20f9469cfc6c", System.Globalization.NumberStyles.HexNumber)));
        s.Write(header.Dump(1001L));
        s.Write(header.Dump(new Dictionary<object, object?>
        {
            ["protocol_version"] = 1001L,
            ["little_endian"] = true,
            ["type_sizes"] = new Dictionary<object, object?> { ["short"] = 2L, ["int"] = 4L, ["long"] = 4L },
        }));
        s.Write(obj);
        s.Write(header.Dump(storages.Select(x => (object?)x.Key).ToList()));
        var n = new byte[8];
        foreach (var (_, t) in storages)
        {
            BinaryPrimitives.WriteInt64LittleEndian(n, t.numel());
            s.Write(n);
            s.Write(TensorBytes(t));
        }
    }

    private static void WriteZip(Stream s, byte[] obj, List<(string Key, Tensor Data)> storages, long zip64From)
    {
        // Stored (uncompressed) entries with data aligned to 64 bytes, as PyTorch's own writer lays them out.
        var zip = new StoredZipWriter(s, zip64From);
        const string prefix = "archive/";
        zip.Add(prefix + "data.pkl", obj);
        zip.Add(prefix + "byteorder", Encoding.ASCII.GetBytes("little"));
        foreach (var (key, t) in storages) zip.Add(prefix + "data/" + key, TensorBytes(t));
        zip.Add(prefix + "version", Encoding.ASCII.GetBytes("3\n"));
        zip.Finish();
    }

    internal static byte[] TensorBytes(Tensor t)
    {
        using var c = t.contiguous();
        return c.bytes.ToArray();
    }

    internal static string StorageName(ScalarType dtype) =>
        PthReader.StorageTypes.FirstOrDefault(kv => kv.Value == dtype).Key
        ?? throw new GanSharpException(ErrorKind.Checkpoint, $"tensors of dtype {dtype} cannot be written to a .pth file by GanSharp.");

    /// <summary>A protocol-2 pickler for the object kinds PyTorch state files hold.</summary>
    private sealed class PickleWriter(List<(string Key, Tensor Data)> storages, bool legacy)
    {
        private ByteSink _m = new();

        public byte[] Dump(object? root)
        {
            _m = new ByteSink();
            _m.WriteByte(0x80);
            _m.WriteByte(2);
            Save(root);
            _m.WriteByte(0x2e);
            return _m.ToArray();
        }

        private void Global(string module, string name)
        {
            _m.WriteByte(0x63);
            _m.Write(Encoding.ASCII.GetBytes(module + "\n" + name + "\n"));
        }

        private void Str(string s)
        {
            var b = Encoding.UTF8.GetBytes(s);
            _m.WriteByte(0x58);
            Span<byte> n = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(n, b.Length);
            _m.Write(n);
            _m.Write(b);
        }

        private void Long(long v)
        {
            if (v is >= 0 and < 256)
            {
                _m.WriteByte(0x4b);
                _m.WriteByte((byte)v);
            }
            else if (v is >= int.MinValue and <= int.MaxValue)
            {
                _m.WriteByte(0x4a);
                Span<byte> n = stackalloc byte[4];
                BinaryPrimitives.WriteInt32LittleEndian(n, (int)v);
                _m.Write(n);
            }
            else
            {
                Big(v);
            }
        }

        private void Big(System.Numerics.BigInteger v)
        {
            var bytes = v.ToByteArray(isUnsigned: false, isBigEndian: false);
            _m.WriteByte(0x8a);
            _m.WriteByte(checked((byte)bytes.Length));
            _m.Write(bytes);
        }

        private void Tuple(IReadOnlyList<object?> items)
        {
            _m.WriteByte(0x28);
            foreach (var i in items) Save(i);
            _m.WriteByte(0x74);
        }

        private void Save(object? o)
        {
            switch (o)
            {
                case null: _m.WriteByte(0x4e); break;
                case bool b: _m.WriteByte(b ? (byte)0x88 : (byte)0x89); break;
                case int i: Long(i); break;
                case long l: Long(l); break;
                case System.Numerics.BigInteger bi: Big(bi); break;
                case float f: SaveDouble(f); break;
                case double d: SaveDouble(d); break;
                case string s: Str(s); break;
                case PickleTuple t: Tuple(t.Items); break;
                case StateDict sd:
                    Global("collections", "OrderedDict");
                    _m.WriteByte(0x29);
                    _m.WriteByte(0x52);
                    if (sd.Count > 0)
                    {
                        _m.WriteByte(0x28);
                        foreach (var (k, v) in sd.Entries)
                        {
                            Str(k);
                            SaveTensor(v);
                        }
                        _m.WriteByte(0x75);
                    }
                    break;
                case Dictionary<object, object?> d:
                    _m.WriteByte(0x7d);
                    if (d.Count > 0)
                    {
                        _m.WriteByte(0x28);
                        foreach (var (k, v) in d)
                        {
                            Save(k);
                            Save(v);
                        }
                        _m.WriteByte(0x75);
                    }
                    break;
                case List<object?> l:
                    _m.WriteByte(0x5d);
                    if (l.Count > 0)
                    {
                        _m.WriteByte(0x28);
                        foreach (var v in l) Save(v);
                        _m.WriteByte(0x65);
                    }
                    break;
                case Tensor t: SaveTensor(t); break;
                default:
                    throw new ArgumentException($"cannot pickle a {o.GetType().Name}", nameof(o));
            }
        }

        private void SaveDouble(double d)
        {
            _m.WriteByte(0x47);
            Span<byte> n = stackalloc byte[8];
            BinaryPrimitives.WriteDoubleBigEndian(n, d);
            _m.Write(n);
        }

        private void SaveTensor(Tensor t)
        {
            string key = storages.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var data = t.detach().to(CPU).contiguous().clone();
            storages.Add((key, data));
            Global("torch._utils", "_rebuild_tensor_v2");
            _m.WriteByte(0x28);
            // persistent id: ('storage', torch.<Type>Storage, key, 'cpu', numel[, None for legacy view metadata])
            _m.WriteByte(0x28);
            Str("storage");
            Global("torch", StorageName(data.dtype));
            Str(key);
            Str("cpu");
            Long(data.numel());
            if (legacy) _m.WriteByte(0x4e);
            _m.WriteByte(0x74);
            _m.WriteByte(0x51);
            Long(0);
            Tuple(data.shape.Select(x => (object?)x).ToList());
            Tuple(data.stride().Select(x => (object?)x).ToList());
            _m.WriteByte(t.requires_grad ? (byte)0x88 : (byte)0x89);
            Global("collections", "OrderedDict");
            _m.WriteByte(0x29);
            _m.WriteByte(0x52);
            _m.WriteByte(0x74);
            _m.WriteByte(0x52);
        }
    }
}

/// <summary>A growable byte buffer (not disposable, unlike MemoryStream).</summary>
internal sealed class ByteSink
{
    private readonly System.Buffers.ArrayBufferWriter<byte> _w = new();

    public void WriteByte(byte b) => System.Buffers.BuffersExtensions.Write(_w, [b]);

    public void Write(ReadOnlySpan<byte> bytes) => System.Buffers.BuffersExtensions.Write(_w, bytes);

    public byte[] ToArray() => _w.WrittenSpan.ToArray();
}
