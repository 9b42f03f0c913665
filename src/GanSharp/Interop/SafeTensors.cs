using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace GanSharp.Interop;

/// <summary>Reads and writes the safetensors format (8-byte header length, JSON header, raw little-endian data).</summary>
public static class SafeTensors
{
    private static readonly Dictionary<string, ScalarType> Types = new()
    {
        ["F64"] = ScalarType.Float64, ["F32"] = ScalarType.Float32, ["F16"] = ScalarType.Float16,
        ["BF16"] = ScalarType.BFloat16, ["I64"] = ScalarType.Int64, ["I32"] = ScalarType.Int32,
        ["I16"] = ScalarType.Int16, ["I8"] = ScalarType.Int8, ["U8"] = ScalarType.Byte, ["BOOL"] = ScalarType.Bool,
    };

    public static void Write(string path, StateDict sd, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var m = new JsonObject();
            foreach (var (k, v) in metadata) m[k] = v;
            header["__metadata__"] = m;
        }
        var blobs = new List<byte[]>();
        long offset = 0;
        foreach (var (name, t) in sd.Entries)
        {
            var bytes = PthWriter.TensorBytes(t.detach().cpu());
            string dtype = Types.First(kv => kv.Value == t.dtype).Key;
            header[name] = new JsonObject
            {
                ["dtype"] = dtype,
                ["shape"] = new JsonArray(t.shape.Select(x => (JsonNode)x).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes.Length),
            };
            offset += bytes.Length;
            blobs.Add(bytes);
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int pad = (8 - json.Length % 8) % 8; // the format asks the data to start 8-aligned
        var headerBytes = new byte[json.Length + pad];
        json.CopyTo(headerBytes, 0);
        headerBytes.AsSpan(json.Length).Fill((byte)' ');
        AtomicFile.Write(path, s =>
        {
            Span<byte> n = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(n, (ulong)headerBytes.Length);
            s.Write(n);
            s.Write(headerBytes);
            foreach (var b in blobs) s.Write(b);
        });
    }

    /// <summary>
    /// Reads every tensor. The file is read tensor by tensor rather than whole, so files beyond 2 GiB (one .NET array)
    /// read too.
    /// </summary>
    public static StateDict Read(string path)
    {
        if (!File.Exists(path))
            throw new GanSharpException(ErrorKind.BadInput, $"{path} does not exist: check the weights path.");
        try
        {
            using var fs = File.OpenRead(path);
            return Read(fs, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new GanSharpException(ErrorKind.BadInput, $"{path} cannot be read ({e.Message}): check its permissions.", e);
        }
    }

    /// <summary>Reads safetensors bytes; <paramref name="path"/> is named in error messages.</summary>
    internal static StateDict Read(byte[] all, string path)
    {
        using var ms = new MemoryStream(all, writable: false);
        return Read(ms, path);
    }

    // Tensor by tensor from a seekable stream: every length and offset is checked against the stream's length before
    // anything is allocated, so a damaged header can neither overflow nor ask for more memory than the file has.
    private static StateDict Read(Stream fs, string path)
    {
        long length = fs.Length;
        if (length < 8) throw Bad(path, "it is shorter than its 8-byte header length");
        Span<byte> n = stackalloc byte[8];
        fs.ReadExactly(n);
        ulong hlen = BinaryPrimitives.ReadUInt64LittleEndian(n);
        if (hlen > (ulong)(length - 8) || hlen > int.MaxValue) throw Bad(path, $"its header length {hlen} exceeds the file's {length} bytes");
        var headerBytes = new byte[(int)hlen];
        fs.ReadExactly(headerBytes);
        JsonObject header;
        try
        {
            header = JsonNode.Parse(headerBytes) as JsonObject ?? throw Bad(path, "its header is not a JSON object");
        }
        catch (JsonException e)
        {
            throw Bad(path, "its header is not JSON (" + e.Message + ")");
        }
        var sd = new StateDict();
        try
        {
            long dataStart = 8 + (long)hlen;
            long dataLength = length - dataStart;
            foreach (var (name, node) in header)
            {
                if (name == "__metadata__" || node is null) continue;
                var (dtype, shape, b, e) = Describe(path, name, node);
                long numel = 1;
                foreach (long d in shape)
                {
                    // Checked against the data before multiplying, so a damaged shape cannot overflow or allocate.
                    if (d < 0 || (d > 0 && numel > dataLength / d)) throw Bad(path,
                        $"tensor {name} has shape [{string.Join(",", shape)}], more than the file holds");
                    numel *= d;
                }
                if (b < 0 || e < b || e > dataLength || e - b != numel * PthReader.ElementSize(dtype) || e - b > Array.MaxLength)
                    throw Bad(path, $"tensor {name} has data offsets [{b}, {e}] that do not match its shape or the {dataLength} bytes of data");
                var bytes = new byte[e - b];
                fs.Position = dataStart + b;
                fs.ReadExactly(bytes);
                using var flat = numel == 0 ? torch.empty(0, dtype: dtype) : PthReader.FromBytes(bytes, dtype, numel);
                if (sd.ContainsKey(name)) throw Bad(path, $"tensor {name} appears twice");
                sd.Add(name, flat.reshape(shape).clone());
            }
            return sd;
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException)
        {
            // System.Text.Json decodes names and values lazily: invalid UTF-8 or a repeated name surfaces here.
            sd.Dispose();
            throw Bad(path, $"its header is not valid JSON ({e.Message.TrimEnd('.')})");
        }
        catch
        {
            sd.Dispose();
            throw;
        }
    }

    private static (ScalarType DType, long[] Shape, long Begin, long End) Describe(string path, string name, JsonNode node)
    {
        // The JSON shape is the file's: any missing or mistyped field is damage, reported by name.
        try
        {
            string dt = node["dtype"]?.GetValue<string>() ?? throw Bad(path, $"tensor {name} has no dtype");
            if (!Types.TryGetValue(dt, out var dtype))
                throw new GanSharpException(ErrorKind.Checkpoint,
                    $"{path} holds tensor {name} of dtype {dt}, which GanSharp does not read: save it as F32, F16, BF16 or an integer type.");
            var shapeNode = node["shape"] as JsonArray ?? throw Bad(path, $"tensor {name} has no shape list");
            long[] shape = shapeNode.Select(x => x?.GetValue<long>() ?? throw Bad(path, $"tensor {name} has a null dimension")).ToArray();
            var offs = node["data_offsets"] as JsonArray;
            if (offs is not { Count: 2 } || offs[0] is null || offs[1] is null) throw Bad(path, $"tensor {name} lacks its two data offsets");
            return (dtype, shape, offs[0]!.GetValue<long>(), offs[1]!.GetValue<long>());
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or OverflowException)
        {
            throw Bad(path, $"tensor {name} has a malformed entry in the header ({e.Message.TrimEnd('.')})");
        }
    }

    private static GanSharpException Bad(string path, string why) =>
        new(ErrorKind.Checkpoint, $"{path} is cut short or damaged (not a valid safetensors file: {why}): copy it again, or write it again.");
}
