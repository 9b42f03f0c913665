using System.CommandLine;

namespace GanSharp.Cli.Options;

/// <summary>
/// A list of command-line options, each tied to the flat option name it sets (<c>model.ngf</c>) and to how it changes
/// an options record. Knowing which options the user actually typed lets resume and test take the rest from the
/// checkpoint, and refuse a typed value that contradicts it.
/// </summary>
public sealed class OptionTable<TRecord>
{
    private readonly List<(Option Option, string[] Flat, Func<TRecord, ParseResult, TRecord> Apply)> _entries = [];

    public Option<T> Add<T>(string name, string[] aliases, string description, T defaultValue, string flat, Func<TRecord, T, TRecord> apply) =>
        Add(name, aliases, description, defaultValue, [flat], apply);

    public Option<T> Add<T>(string name, string[] aliases, string description, T defaultValue, string[] flat, Func<TRecord, T, TRecord> apply)
    {
        var o = new Option<T>(name, aliases) { Description = description, DefaultValueFactory = _ => defaultValue };
        _entries.Add((o, flat, (r, p) => apply(r, p.GetValue(o)!)));
        return o;
    }

    public void AddTo(Command command)
    {
        foreach (var (o, _, _) in _entries) command.Options.Add(o);
    }

    /// <summary>Applies every option (defaults included) to <paramref name="seed"/> and collects the flat names typed.</summary>
    public TRecord Bind(ParseResult parse, TRecord seed, HashSet<string> given)
    {
        var r = seed;
        foreach (var (o, flat, apply) in _entries)
        {
            r = apply(r, parse);
            if (Given.IsGiven(parse, o)) foreach (var f in flat) given.Add(f);
        }
        return r;
    }
}

/// <summary>Whether the user typed an option (as opposed to its default applying).</summary>
public static class Given
{
    public static bool IsGiven(ParseResult parse, Option option) => parse.GetResult(option) is { Implicit: false };
}
