using System.Globalization;
using System.Text.Json;

namespace GanSharp.Options;

/// <summary>
/// One option of a GanSharp options record, described once: its command-line flag and aliases, the NVlabs reference's
/// name where it has one, its help text, its flat name in options.json and opt.txt (<c>loss.lambda_vgg</c>), and how
/// its value is read from and written into the record. The CLI, the run folder's files, resume and the doctor's
/// remedies all take the option from here.
/// </summary>
/// <typeparam name="TRecord">The record the option belongs to (a section such as <c>SpadeLossOptions</c>, or a whole run).</typeparam>
public interface IOptionSpec<TRecord>
{
    /// <summary>The kebab-case flag, e.g. <c>--lambda-vgg</c>.</summary>
    string Flag { get; }

    /// <summary>Other spellings the command line accepts: the reference's <c>--lambda_vgg</c> first, then any others.</summary>
    IReadOnlyList<string> Aliases { get; }

    /// <summary>The NVlabs SPADE option name (<c>lambda_vgg</c>, <c>batchSize</c>); null when the reference has none.</summary>
    string? Reference { get; }

    /// <summary>The name in options.json and opt.txt: <c>section.name</c>, or <c>name</c> at the top of the record.</summary>
    string FlatName { get; }

    /// <summary>One or two sentences for --help.</summary>
    string Help { get; }

    /// <summary>The placeholder --help shows for the value (<c>dir</c>, <c>count</c>); null for the default.</summary>
    string? HelpName { get; }

    /// <summary>Whether the option decides the networks' shapes, so a checkpoint refuses another value.</summary>
    bool Structural { get; }

    /// <summary>The value's type in the record.</summary>
    Type ValueType { get; }

    /// <summary>The value in <paramref name="record"/> as a user types it (<c>5</c>, <c>resize_and_crop</c>); empty for null.</summary>
    string TextOf(TRecord record);

    /// <summary>The option as command-line tokens with the value in <paramref name="record"/> (a switch alone when true).</summary>
    IReadOnlyList<string> Arguments(TRecord record);

    /// <summary><paramref name="target"/> with this option's value taken from <paramref name="source"/>.</summary>
    TRecord CopyValue(TRecord source, TRecord target);

    /// <summary>Calls the visitor with the typed description (for adapters that need the value's type).</summary>
    TResult Accept<TResult>(IOptionVisitor<TRecord, TResult> visitor);
}

/// <summary>Receives an <see cref="IOptionSpec{TRecord}"/> with its value type known.</summary>
public interface IOptionVisitor<TRecord, TResult>
{
    TResult Visit<T>(OptionSpec<TRecord, T> spec);
}

/// <summary>
/// An option whose value has type <typeparamref name="T"/> in <typeparamref name="TRecord"/>: a getter, a
/// <c>with</c>-setter, and how the value reads and prints on the command line. Its default is whatever a defaults
/// record holds (<see cref="DefaultIn"/>), so it is never typed twice.
/// </summary>
public sealed class OptionSpec<TRecord, T> : IOptionSpec<TRecord>
{
    internal OptionSpec(string flag, IReadOnlyList<string> aliases, string? reference, string flatName, string help,
        Func<TRecord, T> get, Func<TRecord, T, TRecord> set, ValueText<T> text)
    {
        Flag = flag;
        Aliases = aliases;
        Reference = reference;
        FlatName = flatName;
        Help = help;
        Get = get;
        Set = set;
        Text = text;
    }

    public string Flag { get; }
    public IReadOnlyList<string> Aliases { get; }
    public string? Reference { get; }
    public string FlatName { get; }
    public string Help { get; }
    public string? HelpName { get; init; }
    public bool Structural { get; init; }
    public Type ValueType => typeof(T);

    /// <summary>Reads the option from a record.</summary>
    public Func<TRecord, T> Get { get; }

    /// <summary>A copy of the record with the option set.</summary>
    public Func<TRecord, T, TRecord> Set { get; }

    /// <summary>How values are parsed from and printed for the command line.</summary>
    public ValueText<T> Text { get; }

    /// <summary>The default: the value a defaults record holds.</summary>
    public T DefaultIn(TRecord defaults) => Get(defaults);

    public string TextOf(TRecord record) => Text.Format(Get(record));

    public TRecord CopyValue(TRecord source, TRecord target) => Set(target, Get(source));

    public IReadOnlyList<string> Arguments(TRecord record) => Get(record) switch
    {
        null => [],
        bool b => b ? [Flag] : [],
        var v => [Flag, Text.Format(v)],
    };

    /// <summary>
    /// The flag with a value as a user types it (<c>--lambda-vgg 5</c>); a switch prints as its flag alone when true.
    /// </summary>
    public string Render(T value) => typeof(T) == typeof(bool) ? Flag : $"{Flag} {Text.Format(value)}";

    public TResult Accept<TResult>(IOptionVisitor<TRecord, TResult> visitor) => visitor.Visit(this);

    /// <summary>
    /// The same option on a record that holds <typeparamref name="TRecord"/> as its <paramref name="section"/>
    /// (flat name <c>section.name</c>; null keeps the name at the top).
    /// </summary>
    public OptionSpec<TRoot, T> In<TRoot>(string? section, Func<TRoot, TRecord> part, Func<TRoot, TRecord, TRoot> withPart) =>
        new(Flag, Aliases, Reference, section is null ? FlatName : section + "." + FlatName, Help,
            r => Get(part(r)), (r, v) => withPart(r, Set(part(r), v)), Text)
        {
            HelpName = HelpName,
            Structural = Structural,
        };
}

/// <summary>
/// How an option's values read and print on the command line: numbers in the invariant culture, enums by their
/// snake-case names (the names options.json uses) unless other names are given.
/// </summary>
public sealed class ValueText<T>
{
    public ValueText(Func<string, T> parse, Func<T, string> format, IReadOnlyList<string>? choices = null)
    {
        Parse = parse;
        Format = format;
        Choices = choices;
    }

    /// <summary>The value of a typed token (one of <see cref="Choices"/> when there are choices).</summary>
    public Func<string, T> Parse { get; }

    public Func<T, string> Format { get; }

    /// <summary>The accepted tokens when the option is a choice; null for values the command line parses itself.</summary>
    public IReadOnlyList<string>? Choices { get; }
}

/// <summary>The value texts of the option types the records use.</summary>
internal static class ValueTexts
{
    /// <summary>Plain values: the command line's own parsing, printing in the invariant culture.</summary>
    public static ValueText<T> Plain<T>() =>
        new(s => throw new FormatException($"'{s}' is parsed by the command line itself."), v => Print(v));

    /// <summary>An enum (or an optional one) by the names given, e.g. <c>wgan-gp</c> for <c>WganGp</c>; null prints empty.</summary>
    public static ValueText<T> Named<T>(params (string Name, T Value)[] names) =>
        new(s => names.First(n => string.Equals(n.Name, s, StringComparison.OrdinalIgnoreCase)).Value,
            v => v is null ? "" : names.First(n => EqualityComparer<T>.Default.Equals(n.Value, v)).Name,
            names.Select(n => n.Name).ToArray());

    /// <summary>An enum by its snake-case names, as options.json writes it (<c>resize_and_crop</c>, <c>hinge</c>).</summary>
    public static ValueText<TEnum> Snake<TEnum>() where TEnum : struct, Enum =>
        Named(Enum.GetValues<TEnum>().Select(v => (JsonNamingPolicy.SnakeCaseLower.ConvertName(v.ToString()), v)).ToArray());

    private static string Print<T>(T value) => value switch
    {
        null => "",
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
