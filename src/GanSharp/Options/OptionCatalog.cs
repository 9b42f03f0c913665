using System.Collections;
using System.Linq.Expressions;
using System.Text.Json;

namespace GanSharp.Options;

/// <summary>
/// The options of one record, in the order --help lists them. Each is added once with its property (whose JSON name
/// is the flat name, so options.json and the descriptions cannot disagree), a <c>with</c>-setter, its flag and help.
/// Catalogues of sections compose into the catalogue of a whole run with <see cref="In{TRoot}"/>.
/// </summary>
public sealed class OptionCatalog<TRecord> : IReadOnlyList<IOptionSpec<TRecord>>
{
    private readonly List<IOptionSpec<TRecord>> _specs = [];

    public OptionCatalog()
    {
    }

    public OptionCatalog(IEnumerable<IOptionSpec<TRecord>> specs) => _specs.AddRange(specs);

    /// <summary>Describes the option stored in <paramref name="property"/>.</summary>
    /// <param name="flag">The kebab-case flag (<c>--lambda-vgg</c>).</param>
    /// <param name="property">The record's property, e.g. <c>x => x.LambdaVgg</c>; its JSON name is the flat name.</param>
    /// <param name="set">The record with the option set, e.g. <c>(x, v) => x with { LambdaVgg = v }</c>.</param>
    /// <param name="help">The --help text.</param>
    /// <param name="reference">The NVlabs reference's name (<c>lambda_vgg</c>), which also becomes an alias.</param>
    /// <param name="aliases">Further spellings.</param>
    /// <param name="text">How values read and print; plain values by default.</param>
    /// <param name="helpName">The value's placeholder in --help.</param>
    /// <param name="structural">Whether a checkpoint refuses another value.</param>
    public OptionSpec<TRecord, T> Add<T>(string flag, Expression<Func<TRecord, T>> property, Func<TRecord, T, TRecord> set, string help,
        string? reference = null, string[]? aliases = null, ValueText<T>? text = null, string? helpName = null, bool structural = false)
    {
        var member = property.Body as MemberExpression
            ?? throw new ArgumentException($"{flag}: the option must be a property of {typeof(TRecord).Name}.", nameof(property));
        var names = new List<string>();
        if (reference is not null && "--" + reference != flag) names.Add("--" + reference);
        foreach (var a in aliases ?? []) if (!names.Contains(a)) names.Add(a);
        var spec = new OptionSpec<TRecord, T>(flag, names, reference, JsonNamingPolicy.SnakeCaseLower.ConvertName(member.Member.Name), help,
            property.Compile(), set, text ?? ValueTexts.Plain<T>())
        {
            HelpName = helpName,
            Structural = structural,
        };
        _specs.Add(spec);
        return spec;
    }

    /// <summary>Every option of this catalogue as options of <typeparamref name="TRoot"/>, whose <paramref name="section"/> it is.</summary>
    public OptionCatalog<TRoot> In<TRoot>(string? section, Func<TRoot, TRecord> part, Func<TRoot, TRecord, TRoot> withPart) =>
        new(_specs.Select(s => s.Accept(new Lift<TRoot>(section, part, withPart))));

    /// <summary>The option with this flat name (<c>loss.lambda_vgg</c>), or null.</summary>
    public IOptionSpec<TRecord>? ByFlatName(string flatName) => _specs.FirstOrDefault(s => s.FlatName == flatName);

    /// <summary>The option typed as <paramref name="flag"/> or one of its aliases, or null.</summary>
    public IOptionSpec<TRecord>? ByFlag(string flag) => _specs.FirstOrDefault(s => s.Flag == flag || s.Aliases.Contains(flag));

    public int Count => _specs.Count;
    public IOptionSpec<TRecord> this[int index] => _specs[index];
    public IEnumerator<IOptionSpec<TRecord>> GetEnumerator() => _specs.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>A catalogue and more options after it.</summary>
    public static OptionCatalog<TRecord> operator +(OptionCatalog<TRecord> a, IEnumerable<IOptionSpec<TRecord>> b) => new(a.Concat(b));

    private sealed class Lift<TRoot>(string? section, Func<TRoot, TRecord> part, Func<TRoot, TRecord, TRoot> withPart)
        : IOptionVisitor<TRecord, IOptionSpec<TRoot>>
    {
        public IOptionSpec<TRoot> Visit<T>(OptionSpec<TRecord, T> spec) => spec.In(section, part, withPart);
    }
}
