using System.Reflection;
using System.Text.RegularExpressions;
using GanSharp.Data;
using GanSharp.Runtime;
using GanSharp.Tests.Reliability;

namespace GanSharp.Tests.Cli;

/// <summary>
/// The dotnet tool as a user gets it: <c>dotnet pack</c> into a local feed, <c>dotnet tool install --tool-path</c>, then
/// the installed <c>gansharp</c> runs libtorch. Only the local feed is a package source (GanSharp must not come from
/// nuget.org, and the tool package has no dependencies to fetch), and the NuGet cache is a fresh folder, so an older
/// 0.1.0 extracted there by an earlier run cannot stand in for this build.
/// </summary>
public sealed class ToolPackageTests
{
    private static readonly TimeSpan Step = TimeSpan.FromMinutes(3);

    [Fact]
    public void PackedToolInstalledFromALocalFeedLoadsLibtorchAndRunsATinyDemo()
    {
        using var dir = new TempDir();
        string feed = dir.File("feed"), tools = dir.File("tools");
        Directory.CreateDirectory(feed);
        string config = dir.File("nuget.config");
        File.WriteAllText(config,
            $"<configuration><packageSources><clear /><add key=\"local\" value=\"{feed}\" /></packageSources></configuration>");
        var env = new Dictionary<string, string?>
        {
            ["NUGET_PACKAGES"] = dir.File("nuget-cache"),
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
            // The test host runs with the CLI's gen0 budget already set (test.runsettings); the installed tool must set
            // it itself, as in a user's shell.
            [GcQuiet.Gen0SizeVariable] = null,
            ["GANSHARP_NO_RELAUNCH"] = null,
        };

        // --no-build: the CLI was built with this test assembly, in the same configuration; building it again here
        // would rewrite files other tests load.
        string cli = Path.Combine(RepoRoot(), "src", "GanSharp.Cli", "GanSharp.Cli.csproj");
        Ok(ChildProcess.Run("dotnet", ["pack", cli, "-c", Configuration(), "--no-build", "-o", feed], env, Step));
        Assert.Equal(["GanSharp.0.1.0.nupkg"], Directory.GetFiles(feed).Select(Path.GetFileName));
        Ok(ChildProcess.Run("dotnet", ["tool", "install", "GanSharp", "--tool-path", tools, "--configfile", config], env, Step));

        string gansharp = Path.Combine(tools, "gansharp");
        string runtimeConfig = Directory.GetFiles(tools, "gansharp.runtimeconfig.json", SearchOption.AllDirectories).Single();
        Assert.Contains("\"System.GC.LOHThreshold\": 67108864", File.ReadAllText(runtimeConfig), StringComparison.Ordinal);

        // doctor --env loads libtorch from the tool's folder and runs a convolution forward and backward.
        var doctor = Ok(ChildProcess.Run(gansharp, ["doctor", "--env"], env, Step));
        Assert.Matches(@"libtorch\s+│\s+" + Regex.Escape(TorchEnvironment.Probe().LibTorchVersion), doctor);
        Assert.Matches(@"conv forward\+backward\s+│\s+ok", doctor);

        // A demo of 4 scenes and half a minute (the first iteration alone took 22 s here under load; a budget spent before it ends
        // stops the demo as interrupted): generation, the loader, SPADE training, a checkpoint and synthesis.
        string demo = dir.File("demo");
        var output = Ok(ChildProcess.Run(gansharp, ["demo", "--dir", demo, "--count", "4", "--minutes", "0.5"], env, Step));
        Assert.Matches(@"pairs\s+│\s+4\s", output);
        Assert.Contains("Synthesized 1 validation images", output, StringComparison.Ordinal);
        var png = PngCodec.ReadHeader(Path.Combine(demo, "results", "demo", "test_latest", "images", "synthesized_image", "val_0000.png"));
        Assert.Equal((64, 64), (png.Width, png.Height));
        Assert.True(File.Exists(Path.Combine(demo, "checkpoints", "demo", "latest_net_G.pth")));
    }

    private static string Ok((int Code, string Output, string Error) run)
    {
        Assert.True(run.Code == 0, $"exit {run.Code}:\n{run.Output}");
        return run.Output;
    }

    private static string Configuration() =>
        typeof(ToolPackageTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "GanSharp.slnx"))) return d.FullName;
        throw new InvalidOperationException("GanSharp.slnx not found above " + AppContext.BaseDirectory);
    }
}
