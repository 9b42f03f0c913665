namespace GanSharp.Tests;

public class AtomicFileTests
{
    [Fact]
    public void AWriteThatFailsHalfwayLeavesTheOldFile()
    {
        using var dir = Fixtures.TempDir();
        string path = dir.File("state.bin");
        AtomicFile.WriteAllText(path, "good");
        Assert.Throws<IOException>(() => AtomicFile.Write(path, s =>
        {
            s.Write("partial"u8);
            throw new IOException("disk full");
        }));
        Assert.Equal("good", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(dir.Root));
    }
}
