using GanSharp.Cli;
using GanSharp.Cli.Studio;
using GanSharp.Reporting;
using GanSharp.Studio;
using GanSharp.Tests.Reliability;
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

    [Fact]
    public async Task ThePaletteComesFromTheRunsClassTableAndItsNamesLeaveTheServerAsJsonText()
    {
        using var tiny = new TinySpade();
        var (trained, log) = CliRun.Run(tiny.Train(tiny.Checkpoints, "--name", "named", "--max-iterations", "1", "--threads", "1"));
        Assert.True(trained == 0, log);
        // As gansharp data convert writes it next to the label maps the run trained on.
        File.WriteAllText(Path.Combine(tiny.Info.TrainLabelDir, "classes.csv"),
            "name,r,g,b,index\nsky,70,130,180,0\n<img src=x onerror=alert(1)>,128,64,128,1\n");
        using (var session = StudioSession.Open("named", tiny.Checkpoints, "latest", _ => { }))
        {
            Assert.Equal(("sky", "#4682b4"), (session.Classes[0].Name, session.Classes[0].Color));
            Assert.Equal(("<img src=x onerror=alert(1)>", "#804080"), (session.Classes[1].Name, session.Classes[1].Color));
            Assert.Equal("class 2", session.Classes[2].Name);
            await using var server = await StudioServer.StartAsync(session, "127.0.0.1", 0);
            using var http = new HttpClient { BaseAddress = server.Address };
            string info = await http.GetStringAsync("api/info");
            Assert.DoesNotContain("<img", info);
            Assert.Contains("\\u003Cimg src=x onerror=alert(1)\\u003E", info);
        }

        string other = tiny.Dir.File("other.txt");
        File.WriteAllText(other, "2 10 20 30\n");
        using (var session = StudioSession.Open("named", tiny.Checkpoints, "latest", _ => { }, other))
            Assert.Equal("#0a141e", session.Classes[2].Color);
        var (missing, missingLog) = CliRun.Run("studio", "--name", "named", "--checkpoints-dir", tiny.Checkpoints,
            "--classes", tiny.Dir.File("nowhere.csv"));
        Assert.Equal(ExitCodes.BadInput, missing);
        Assert.Contains("does not exist", CliRun.Error(missingLog));
    }
}
