using System.CommandLine;
using GanSharp.Models.Spade;
using GanSharp.Options;

namespace GanSharp.Cli.Options;

/// <summary>
/// The SPADE options of <c>train</c> (<see cref="SpadeOptionCatalog.Train"/>: data, networks, losses, optimizer, run)
/// or of <c>test</c> (<see cref="SpadeOptionCatalog.Test"/>), and the tricks of <c>train</c>.
/// </summary>
public sealed class SpadeOptionsBinder
{
    private readonly bool _training;
    private readonly CatalogOptions<SpadeRunOptions> _options;

    /// <param name="training">Train's options and defaults, or test's.</param>
    public SpadeOptionsBinder(bool training)
    {
        _training = training;
        _options = new CatalogOptions<SpadeRunOptions>(training ? SpadeOptionCatalog.Train : SpadeOptionCatalog.Test,
            SpadeOptionCatalog.Defaults(training));
    }

    /// <summary>All options, in the order --help lists them.</summary>
    public IReadOnlyList<Option> All => _options.All;

    public void AddTo(Command command) => _options.AddTo(command);

    /// <summary>
    /// The options typed on the command line over train's or test's defaults (the data not yet validated: the reference's
    /// dataset modes complete it first), and the flat names typed.
    /// </summary>
    public (SpadeRunOptions Options, HashSet<string> Given) Bind(ParseResult parse)
    {
        var given = new HashSet<string>(StringComparer.Ordinal);
        return (_options.Bind(parse, SpadeOptionCatalog.Defaults(_training), given), given);
    }
}
