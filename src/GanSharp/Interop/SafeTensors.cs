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
        using var fs = File.OpenRead(path);
        long length = fs.Length;
        if (length < 8) throw Bad(path, "it is shorter than its 8-byte header length");
        Span<byte> n = stackalloc byte[8];
        fs.ReadExactly(n);
        ulong hlen = BinaryPrimitives.ReadUInt64LittleEndian(n);
        if (hlen > (ulong)(length - 8) || hlen > int.MaxValue) throw Bad(path, "its header length exceeds the file");
        var headerBytes = new byte[(int)hlen];
        fs.ReadExactly(headerBytes);
        JsonNode? header;
        try
        {
            header = JsonNode.Parse(headerBytes);
        }
        catch (JsonException e)
        {
            throw Bad(path, "its header is not JSON (" + e.Message + ")");
        }
        if (header is not JsonObject entries) throw Bad(path, "its header is not a JSON object");
        var sd = new StateDict();
        try
        {
            long dataStart = 8 + (long)hlen;
            foreach (var (name, node) in entries)
            {
                if (name == "__metadata__" || node is null) continue;
                string dt = node["dtype"]!.GetValue<string>();
                if (!Types.TryGetValue(dt, out var dtype)) throw Bad(path, $"tensor {name} has dtype {dt}, which GanSharp does not read");
                long[] shape = node["shape"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray();
                var offs = node["data_offsets"]!.AsArray();
                long b = offs[0]!.GetValue<long>(), e = offs[1]!.GetValue<long>();
                long numel = shape.Aggregate(1L, (x, y) => x * y);
                if (b < 0 || e - b != numel * PthReader.ElementSize(dtype) || dataStart + e > length || e - b > Array.MaxLength)
                    throw Bad(path, $"tensor {name} has data offsets that do not match its shape");
                var bytes = new byte[e - b];
                fs.Position = dataStart + b;
                fs.ReadExactly(bytes);
                using var flat = numel == 0 ? torch.empty(0, dtype: dtype) : PthReader.FromBytes(bytes, dtype, numel);
                sd.Add(name, flat.reshape(shape).clone());
            }
        }
        catch
        {
            sd.Dispose();
            throw;
        }
        return sd;
    }

    private static GanSharpException Bad(string path, string why) =>
        new(ErrorKind.Checkpoint, $"{path} is not a valid safetensors file: {why}.");
}
