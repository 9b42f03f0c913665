using System.Globalization;
using GanSharp.Runtime;

namespace GanSharp.Tests;

/// <summary>The collector settings that keep TorchSharp's temporary Scalars alive during libtorch calls (see GcQuiet).</summary>
public class GcQuietTests
{
    [Fact]
    public void TheTestHostRunsUnderTheCollectorSettingsOfTheCli()
    {
        // test.runsettings must reach the host, or the tests would run under a different collector regime than the CLI.
        Assert.Equal(GcQuiet.Gen0Size, Environment.GetEnvironmentVariable(GcQuiet.Gen0SizeVariable));
        Assert.False(GcQuiet.ShouldRelaunch());
        // Directory.Build.props puts the loader's image arrays below the large-object threshold.
        Assert.Equal(64L * 1024 * 1024, Convert.ToInt64(AppContext.GetData("System.GC.LOHThreshold"), CultureInfo.InvariantCulture));
    }
}
