using System.Collections;
using GanSharp.Interop;
using static TorchSharp.torch;

namespace GanSharp.Tests.Spade;

/// <summary>
/// Fixture access for the parity tests through GanSharp's own <see cref="PthReader"/>: the tests thereby also prove
/// that the reader reads the reference's files (zip and legacy).
/// </summary>
internal static class TestPth
{
    /// <summary>A file of spade-tiny by name, or any file by its full path (other fixture sets).</summary>
    public static string Fixture(string name) =>
        Path.IsPathRooted(name) ? name : Path.Combine(AppContext.BaseDirectory, "Fixtures", "spade-tiny", name);

    /// <summary>A state_dict in file order.</summary>
    public static List<(string Key, Tensor Value)> LoadStateDict(string fixture)
    {
        var sd = PthReader.ReadStateDict(Fixture(fixture));
        return sd.Entries.Select(kv => (kv.Key, kv.Value)).ToList();
    }

    /// <summary>A dict of mixed values (the *_batch, *_expected and optimizer files), with int keys as Python has them.</summary>
    public static Dictionary<string, object?> LoadDict(string fixture)
    {
        var root = (Dictionary<object, object?>)PthReader.Read(Fixture(fixture))!;
        return root.ToDictionary(kv => (string)kv.Key, kv => Adapt(kv.Value));
    }

    private static object? Adapt(object? o) => o switch
    {
        Dictionary<object, object?> d => ToHashtable(d),
        PickleTuple t => t.Items.Select(Adapt).ToArray(),
        List<object?> l => l.Select(Adapt).ToList(),
        _ => o,
    };

    private static Hashtable ToHashtable(Dictionary<object, object?> d)
    {
        var h = new Hashtable();
        foreach (var (k, v) in d) h[k is long l && l is >= int.MinValue and <= int.MaxValue ? (int)l : k] = Adapt(v);
        return h;
    }
}
