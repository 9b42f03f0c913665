using GanSharp.Interop.NVlabs;

namespace GanSharp.Tests.Spade;

/// <summary>
/// One folder of reference fixtures in the spade-tiny layout (A_* one training iteration, B_* VAE forwards). The
/// options come from the files themselves (<c>A_expected['options']</c>, the reference command line), so the parity
/// tests run unchanged on a folder made with other options: the shipped spade-tiny, the shipped variants under
/// Fixtures/spade-variants, and any folders named in GANSHARP_SPADE_FIXTURES (separated by the path separator).
/// </summary>
public sealed class SpadeFixtureSet
{
    public const string EnvironmentVariable = "GANSHARP_SPADE_FIXTURES";

    private SpadeFixtureSet(string dir) => Dir = dir;

    public string Dir { get; }

    public string File(string name) => Path.Combine(Dir, name);

    public bool Has(string name) => System.IO.File.Exists(File(name));

    public static SpadeFixtureSet Open(string dir) => new(Path.IsPathRooted(dir) ? dir : Fixtures.Path(dir));

    /// <summary>The shipped reference set (spade-tiny, the README's configs A and B).</summary>
    public static SpadeFixtureSet Tiny => Open("spade-tiny");

    /// <summary>Every set to run the parity tests on, as theory data.</summary>
    public static IEnumerable<object[]> All()
    {
        yield return ["spade-tiny"];
        string variants = Fixtures.Path("spade-variants");
        if (Directory.Exists(variants))
            foreach (var d in Directory.GetDirectories(variants).Order(StringComparer.Ordinal))
                yield return [Path.Combine("spade-variants", Path.GetFileName(d))];
        foreach (var d in (Environment.GetEnvironmentVariable(EnvironmentVariable) ?? "").Split(Path.PathSeparator,
            StringSplitOptions.RemoveEmptyEntries))
            yield return [Path.GetFullPath(d)];
    }

    /// <summary>The reference options of config A (or B), resolved as the reference's TrainOptions resolves them.</summary>
    public ReferenceOptions Options(char config)
    {
        var exp = TestPth.LoadDict(File($"{config}_expected.pth"));
        try
        {
            return ReferenceOptions.FromCommandLine(CommandLine(exp["options"]), File($"{config}_expected.pth"));
        }
        finally
        {
            foreach (var v in exp.Values) if (v is TorchSharp.torch.Tensor t) t.Dispose();
        }
    }

    // The reference command line, or an options dict (vars(opt)) turned into one: True switches as bare flags.
    private static string CommandLine(object? options) => options switch
    {
        string s => s,
        System.Collections.IDictionary d => string.Join(" ", d.Keys.Cast<object>().Select(k => (Key: k.ToString()!, Value: d[k]))
            .Where(kv => kv.Value is IConvertible and not false && kv.Key != "isTrain" && !(kv.Value is string v && v.Contains(' ')))
            .Select(kv => kv.Value is true ? $"--{kv.Key}"
                : $"--{kv.Key} {Convert.ToString(kv.Value, System.Globalization.CultureInfo.InvariantCulture)}")),
        _ => throw new InvalidOperationException("the expected file has no 'options' (the reference command line)"),
    };
}
