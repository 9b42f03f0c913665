using GanSharp.Cli;
using GanSharp.Cli.Studio;
using GanSharp.Reporting;
using CliRun = GanSharp.Tests.Reliability.Cli;

namespace GanSharp.Tests.Studio;

/// <summary>Issue 20's safety list beyond the HTTP tests: loopback unless asked, a warning when asked, names escaped.</summary>
public sealed class StudioSafetyTests
{
    [Fact]
    public void TheStudioListensOnLoopbackUnlessHostIsGiven()
    {
        var parse = Program.BuildRoot().Parse(["studio", "--name", "demo"]);
        Assert.Empty(parse.Errors);
        Assert.Equal("127.0.0.1", parse.GetValue<string>("--host"));
    }

    [Fact]
    public void HostAllAddressesWarnsThatTheStudioHasNoLogin()
    {
        using var dir = new TempDir();
        // No run in the folder: the command stops after the warning, before any port is opened.
        var (code, output) = CliRun.Run("studio", "--name", "none", "--checkpoints-dir", dir.Root, "--host", "0.0.0.0");
        Assert.NotEqual(0, code);
        Assert.Contains("warning: --host 0.0.0.0 lets other machines paint with your model; the studio has no login.", output);
        var (quietCode, quiet) = CliRun.Run("studio", "--name", "none", "--checkpoints-dir", dir.Root);
        Assert.Equal(code, quietCode);
        Assert.DoesNotContain("warning", quiet);
    }

    [Fact]
    public void TheRunsNameIsEscapedInThePage()
    {
        string html = StudioPage.Html(HtmlPage.Escape("<script>alert(1)</script>&\"'"));
        Assert.DoesNotContain("<script>alert", html);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;&amp;", html);
    }
}
