using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using GanSharp.Options;

namespace GanSharp.Cli.Options;

/// <summary>
/// Checks every numeric option of the command tree at parse time, so a value no option can use is a parse error
/// (exit 2) rather than an overflow deep inside libtorch or the options file: .NET parses "1e309" as infinity, and
/// anything beyond float's range overflows when it reaches a tensor.
/// </summary>
public static class RangeChecks
{
    /// <summary>Options that count things and for which a negative value means nothing.</summary>
    private static readonly HashSet<string> NonNegative = new(StringComparer.Ordinal)
    {
        SpadeOptionCatalog.Threads.Flag, FamilyOptionSpecs.Threads.Flag,
    };

    public static void AddTo(Command command)
    {
        foreach (var option in command.Options)
        {
            var type = Nullable.GetUnderlyingType(option.ValueType) ?? option.ValueType;
            if (type == typeof(double) || type == typeof(float))
                option.Validators.Add(r => CheckReal(r, type));
            else if ((type == typeof(int) || type == typeof(long)) && NonNegative.Contains(option.Name))
                option.Validators.Add(CheckNonNegative);
        }
        foreach (var sub in command.Subcommands) AddTo(sub);
    }

    private static void CheckReal(OptionResult r, Type type)
    {
        double? value = type == typeof(float) ? r.GetValueOrDefault<float?>() : r.GetValueOrDefault<double?>();
        if (value is not { } v) return;
        if (double.IsFinite(v) && Math.Abs(v) <= float.MaxValue) return;
        r.AddError($"{r.Option.Name} {Typed(r, v)} is out of range: GanSharp computes in 32-bit floats (at most ±3.4e38), so give a "
            + $"finite value such as {Default(r)}.");
    }

    private static void CheckNonNegative(OptionResult r)
    {
        long v = r.Option.ValueType == typeof(long) ? r.GetValueOrDefault<long>() : r.GetValueOrDefault<int>();
        if (v < 0) r.AddError($"{r.Option.Name} {v} must not be negative (0 = one per core).");
    }

    private static string Typed(OptionResult r, double v) =>
        r.Tokens.Count > 0 ? r.Tokens[^1].Value : v.ToString(CultureInfo.InvariantCulture);

    private static string Default(OptionResult r)
    {
        object? d = r.Option.HasDefaultValue ? r.Option.GetDefaultValue() : null;
        return d is IFormattable f ? "the default " + f.ToString(null, CultureInfo.InvariantCulture) : "0.5";
    }
}
