using System.CommandLine;
using GanSharp.Models.Spade;
using GanSharp.Options;
using GanSharp.Training.Tricks;

namespace GanSharp.Cli.Options;

/// <summary>Every trick (<see cref="TricksOptionSpecs"/>) as a command-line option, shared by SPADE and all families.</summary>
public sealed class TricksOptionsBinder
{
    private readonly CatalogOptions<TricksOptions> _options = new(TricksOptionSpecs.Catalog, new TricksOptions());

    /// <summary>All options, in the order --help lists them.</summary>
    public IReadOnlyList<Option> All => _options.All;

    /// <summary>Adds every option to <paramref name="command"/>.</summary>
    public void AddTo(Command command) => _options.AddTo(command);

    /// <summary>The tricks of a parse.</summary>
    public TricksOptions Bind(ParseResult parse) => _options.Bind(parse, new TricksOptions());

    /// <summary>
    /// The tricks into a SPADE run. Trick flags given with --continue-train replace the saved tricks as a whole (a
    /// partial mix of two trick sets would be neither run's); without any, the checkpoint's tricks are kept, so every
    /// <c>tricks.*</c> name is marked given or none is.
    /// </summary>
    public SpadeRunOptions BindInto(ParseResult parse, SpadeRunOptions options, ISet<string> given)
    {
        options = options with { Tricks = Bind(parse) };
        if (_options.AnyGiven(parse))
            foreach (var spec in SpadeOptionCatalog.Tricks) given.Add(spec.FlatName);
        return options;
    }
}
