using System.Buffers.Binary;
using System.IO.Compression;
using static TorchSharp.torch;

namespace GanSharp.Interop;

/// <summary>
/// Reads PyTorch <c>torch.save</c> files — the zip format (torch ≥ 1.6) and the legacy format (torch &lt; 1.6, as in
/// NVlabs' published SPADE checkpoints) — like <c>torch.load(weights_only=True)</c>: only the globals a state dict or
/// an optimizer state needs are accepted; any other global refuses the file, so a checkpoint can never run code.
/// </summary>
internal static partial class PthReader
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
                var (_, key, dtype) = StorageId(ctx, pid);
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
        ReadLegacyHeader(path, fs, ctx);
        var storages = new Dictionary<string, Storage>();
        var root = ctx.Reader(fs, pid => LegacyStorage(ctx, storages, pid)).Load();
        ReadLegacyStorages(path, fs, ctx, storages);
        return Materialize(path, root);
    }

    // A persistent id ("storage", type, key, location, size[, view]) as both formats write it.
    private static (PickleTuple Id, string Key, ScalarType DType) StorageId(Context ctx, object? pid)
    {
        var t = pid as PickleTuple;
        if (t is null || t.Count < 5 || t[0] as string != "storage")
            throw ctx.Refuse("a persistent id that is not a tensor storage");
        string key = t[2] as string ?? throw ctx.Refuse("a storage without a key");
        var dtype = t[1] is StorageType type ? type.DType : throw ctx.Refuse("a storage whose type is not a torch storage class");
        return (t, key, dtype);
    }

    private static Func<object?, object?> NoStorage(Context ctx) => _ => throw ctx.Refuse("a persistent id in its header");

    // The three pickles before the object: magic number, protocol version and system info.
    private static void ReadLegacyHeader(string path, Stream fs, Context ctx)
    {
        var magic = ctx.Reader(fs, NoStorage(ctx)).Load();
        bool magicOk = magic switch
        {
            System.Numerics.BigInteger b => b == LegacyMagicFull,
            long l => (ulong)l == LegacyMagic,
            _ => false,
        };
        if (!magicOk)
            throw new GanSharpException(ErrorKind.Checkpoint, $"{path} is a pickle but not a torch.save file (wrong magic number).");
        var protocol = ctx.Reader(fs, NoStorage(ctx)).Load();
        if (protocol is not long p || p != 1001)
            throw new GanSharpException(ErrorKind.Checkpoint, $"{path} uses legacy protocol {protocol}, GanSharp reads 1001.");
        var sysInfo = ctx.Reader(fs, NoStorage(ctx)).Load() as Dictionary<object, object?>;
        if (sysInfo != null && sysInfo.TryGetValue("little_endian", out var le) && le is false)
            throw new GanSharpException(ErrorKind.Checkpoint, $"{path} was saved on a big-endian machine, which GanSharp does not read.");
    }

    // The object's persistent ids: a storage (dtype, key, size) or, in old files, a view into a root storage.
    private static Storage LegacyStorage(Context ctx, Dictionary<string, Storage> storages, object? pid)
    {
        var (t, key, dtype) = StorageId(ctx, pid);
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
    }

    // After the object: the list of storage keys, then each storage's bytes in that order.
    private static void ReadLegacyStorages(string path, Stream fs, Context ctx, Dictionary<string, Storage> storages)
    {
        var keys = ctx.Reader(fs, NoStorage(ctx)).Load() as List<object?>
            ?? throw new GanSharpException(ErrorKind.Checkpoint, $"{path} lacks the list of storage keys after its object: the file is damaged.");
        var header = new byte[8];
        foreach (var k in keys)
        {
            string key = k as string ?? throw ctx.Refuse("a storage key that is not a string");
            if (!storages.TryGetValue(key, out var st))
                throw new GanSharpException(ErrorKind.Checkpoint,
                    $"{path} has data for storage {key} that its object never uses: the file is damaged.");
            fs.ReadExactly(header);
            long numel = BinaryPrimitives.ReadInt64LittleEndian(header);
            long left = fs.Length - fs.Position;
            if (numel < 0 || numel > left / ElementSize(st.DType))
                throw Damaged(path, $"storage {key} claims {numel} elements of {ElementSize(st.DType)} bytes but {left} bytes remain");
            var bytes = new byte[numel * ElementSize(st.DType)];
            fs.ReadExactly(bytes);
            st.Bytes = bytes;
        }
    }
}
