using System.CommandLine;
using GanSharp.Options;

namespace GanSharp.Cli.Options;

/// <summary>
/// The one adapter from option descriptions (<see cref="IOptionSpec{TRecord}"/>) to System.CommandLine: every
/// description becomes an option with its flag, aliases, help and the default a defaults record holds, and binding
/// sets only the options the user typed, naming them by their flat names, so resume and test can take the rest from
/// the checkpoint and refuse a typed value that contradicts it.
/// </summary>
public sealed class CatalogOptions<TRecord>
{
    private readonly List<(IOptionSpec<TRecord> Spec, Option Option, Func<TRecord, ParseResult, TRecord> Apply)> _entries = [];

    /// <param name="specs">The options, in the order --help lists them.</param>
    /// <param name="defaults">The record whose values are the defaults --help shows.</param>
    public CatalogOptions(IEnumerable<IOptionSpec<TRecord>> specs, TRecord defaults)
    {
        var make = new Maker(defaults);
        foreach (var spec in specs)
        {
            var (option, apply) = spec.Accept(make);
            _entries.Add((spec, option, apply));
        }
    }

    /// <summary>Every option, in order.</summary>
    public IReadOnlyList<Option> All => _entries.Select(e => e.Option).ToList();

    /// <summary>The command-line option of a description.</summary>
    public Option this[IOptionSpec<TRecord> spec] => _entries.First(e => ReferenceEquals(e.Spec, spec) || e.Spec.FlatName == spec.FlatName).Option;

    /// <summary>Adds every option to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var e in _entries) command.Options.Add(e.Option);
    }

    /// <summary>
    /// Sets the options the user typed on <paramref name="seed"/> (the defaults record, or a record to complete) and
    /// adds their flat names to <paramref name="given"/>.
    /// </summary>
    public TRecord Bind(ParseResult parse, TRecord seed, ISet<string>? given = null)
    {
        var r = seed;
        foreach (var (spec, option, apply) in _entries)
        {
            if (!Given.IsGiven(parse, option)) continue;
            r = apply(r, parse);
            given?.Add(spec.FlatName);
        }
        return r;
    }

    /// <summary>Whether the user typed any of these options.</summary>
    public bool AnyGiven(ParseResult parse) => _entries.Any(e => Given.IsGiven(parse, e.Option));

    private sealed class Maker(TRecord defaults) : IOptionVisitor<TRecord, (Option, Func<TRecord, ParseResult, TRecord>)>
    {
        public (Option, Func<TRecord, ParseResult, TRecord>) Visit<T>(OptionSpec<TRecord, T> spec)
        {
            var option = new Option<T>(spec.Flag, [.. spec.Aliases]) { Description = spec.Help, HelpName = spec.HelpName };
            var value = spec.DefaultIn(defaults);
            if (spec.Text.Choices is { } choices)
            {
                // --help would print the enum's C# name as the default; the name the user types is the one to show.
                string text = spec.Text.Format(value);
                if (text.Length > 0) option.Description += $" [default: {text}]";
                option.AcceptOnlyFromAmong([.. choices]);
                option.CustomParser = r =>
                {
                    string token = r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";
                    if (choices.Contains(token, StringComparer.OrdinalIgnoreCase)) return spec.Text.Parse(token);
                    r.AddError($"{spec.Flag} '{token}' is not one of {string.Join(", ", choices)}.");
                    return default!;
                };
            }
            else if (value is not null)
                option.DefaultValueFactory = _ => value;
            return (option, (r, p) => spec.Set(r, p.GetValue(option)!));
        }
    }
}

/// <summary>Whether the user typed an option (as opposed to its default applying).</summary>
public static class Given
{
    public static bool IsGiven(ParseResult parse, Option option) => parse.GetResult(option) is { Implicit: false };
}
