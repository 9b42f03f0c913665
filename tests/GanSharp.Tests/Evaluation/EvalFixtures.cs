using System.Text.Json;
using GanSharp.Evaluation;

namespace GanSharp.Tests.Evaluation;

/// <summary>Reads the reference values that Fixtures/eval/make_fixtures.py produced with PyTorch, scipy and scikit-image.</summary>
internal static class EvalFixtures
{
    public static string Dir { get; } = Path.Combine(AppContext.BaseDirectory, "Fixtures", "eval");

    private static readonly Lazy<JsonElement> ExpectedJson = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "expected.json"))).RootElement);

    public static JsonElement Expected => ExpectedJson.Value;

    public static string PathOf(string name) => Path.Combine(Dir, name);

    public static int[] Shape(string name) =>
        Expected.GetProperty("shapes").GetProperty(name).EnumerateArray().Select(e => e.GetInt32()).ToArray();

    public static double[] ReadF64(string name)
    {
        var bytes = File.ReadAllBytes(PathOf(name));
        var r = new double[bytes.Length / 8];
        Buffer.BlockCopy(bytes, 0, r, 0, bytes.Length);
        return r;
    }

    public static float[] ReadF32(string name)
    {
        var bytes = File.ReadAllBytes(PathOf(name));
        var r = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, r, 0, bytes.Length);
        return r;
    }

    public static int[] ReadI32(string name)
    {
        var bytes = File.ReadAllBytes(PathOf(name));
        var r = new int[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, r, 0, bytes.Length);
        return r;
    }

    /// <summary>A 2-D float64 (or float32, widened) array as a feature matrix.</summary>
    public static FeatureMatrix Matrix(string name)
    {
        var s = Shape(name);
        var data = name.EndsWith(".f32", StringComparison.Ordinal) ? ReadF32(name).Select(v => (double)v).ToArray() : ReadF64(name);
        return new FeatureMatrix(s[0], s[1], data);
    }
}
