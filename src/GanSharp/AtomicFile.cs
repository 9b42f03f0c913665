using System.Text.RegularExpressions;

namespace GanSharp;

/// <summary>
/// Writes a file through a temporary sibling and a rename: a reader (or a crash) sees the old file or the new one,
/// never half of one. A full disk becomes one sentence (<see cref="ErrorKind.DiskFull"/>) that names the folder and
/// the space the file needed, and the old file is left as it was.
/// </summary>
public static partial class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        string tmp = WriteTemp(full, write);
        try
        {
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    /// <summary>
    /// Writes the content of <paramref name="path"/> to a new temporary sibling, flushed to disk, and returns its path;
    /// the caller renames it (a checkpoint renames several only once all of them are written). <paramref name="advice"/>
    /// ends the sentence when the disk runs full (what the caller's user should do then).
    /// </summary>
    public static string WriteTemp(string path, Action<Stream> write, string? advice = null)
    {
        string full = Path.GetFullPath(path);
        string? dir = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        string tmp = full + "." + Environment.ProcessId + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        long written = 0;
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            using (var counting = new FaultPointStream(fs))
            {
                write(counting);
                counting.Flush();
                written = fs.Length;
                fs.Flush(flushToDisk: true);
            }
            FaultPoints.Reached("written " + Path.GetFileName(full));
            return tmp;
        }
        catch (IOException e) when (IsDiskFull(e))
        {
            written = Math.Max(written, SafeLength(tmp));
            DeleteQuietly(tmp);
            throw DiskFull(dir ?? ".", Path.GetFileName(full), written, e, advice);
        }
        catch
        {
            DeleteQuietly(tmp);
            throw;
        }
    }

    public static void WriteAllText(string path, string text) =>
        Write(path, s =>
        {
            using var w = new StreamWriter(s, new System.Text.UTF8Encoding(false), leaveOpen: true);
            w.Write(text);
        });

    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, s => s.Write(bytes));

    /// <summary>Whether <paramref name="fileName"/> is a temporary file of <see cref="WriteTemp"/>.</summary>
    public static bool IsTempName(string fileName) => TempPattern().IsMatch(fileName);

    /// <summary>The process that wrote the temporary file <paramref name="fileName"/>, or -1.</summary>
    public static int TempWriterPid(string fileName)
    {
        var m = TempPattern().Match(fileName);
        return m.Success && int.TryParse(m.Groups[1].Value, out int pid) ? pid : -1;
    }

    /// <summary>ENOSPC (and EDQUOT, a quota that is used up) as .NET reports them on Linux and Windows.</summary>
    public static bool IsDiskFull(Exception e) =>
        e is IOException io && (io.HResult is 28 or 122 or unchecked((int)0x80070070) or unchecked((int)0x80070027)
            || io.Message.Contains("No space left on device", StringComparison.OrdinalIgnoreCase)
            || io.Message.Contains("quota exceeded", StringComparison.OrdinalIgnoreCase));

    /// <summary>The sentence for a write that ran out of space.</summary>
    public static GanSharpException DiskFull(string folder, string file, long needed, Exception? inner = null, string? advice = null)
    {
        long free = FreeBytes(folder);
        string freeText = free >= 0 ? $"{Megabytes(free)} free" : "no space left";
        string message = $"the disk of {folder} is full ({freeText}): writing {file} needs at least {Megabytes(Math.Max(needed, 1))}; " +
                         (advice ?? "free some space or choose a folder on another disk, then run the command again (files written before are "
                             + "intact).");
        return inner is null ? new GanSharpException(ErrorKind.DiskFull, message) : new GanSharpException(ErrorKind.DiskFull, message, inner);
    }

    /// <summary>Bytes free for this user on the file system of <paramref name="folder"/>, or -1 when unknown.</summary>
    public static long FreeBytes(string folder)
    {
        try
        {
            string full = Path.GetFullPath(folder);
            while (!Directory.Exists(full) && Path.GetDirectoryName(full) is { } parent) full = parent;
            return new DriveInfo(full).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return -1;
        }
    }

    public static string Megabytes(long bytes) =>
        bytes >= 10L << 20 ? $"{bytes / (1 << 20):N0} MB" : $"{bytes / 1048576.0:0.0} MB";

    private static long SafeLength(string path)
    {
        try
        {
            return File.Exists(path) ? new FileInfo(path).Length : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static void DeleteQuietly(string path)
    {
        try
        {
            if (File.Exists(path)) File.Delete(path);
        }
        catch (IOException)
        {
            // A temporary file that cannot be removed now is removed by the next run's recovery.
        }
    }

    [GeneratedRegex(@"\.(\d+)\.[0-9a-f]{8}\.tmp$")]
    private static partial Regex TempPattern();

    /// <summary>Passes writes through, marking the first one as a point where a test may stop the process mid-file.</summary>
    private sealed class FaultPointStream(Stream inner) : Stream
    {
        private bool _marked;

        public override bool CanRead => false;
        public override bool CanSeek => inner.CanSeek;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => inner.Position = value; }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void SetLength(long value) => inner.SetLength(value);

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            inner.Write(buffer);
            if (_marked || !FaultPoints.Armed) return;
            _marked = true;
            // What is written so far reaches the file, so a stop here leaves a real partial file behind.
            inner.Flush();
            FaultPoints.Reached("inside " + (inner is FileStream f ? Path.GetFileName(f.Name) : "a file"));
        }

        public override void WriteByte(byte value) => Write([value]);
    }
}

/// <summary>
/// Points inside checkpoint writes where a crash-consistency test stops the process: with
/// <c>GANSHARP_TEST_KILL_AT=N</c> the process kills itself (SIGKILL, as <c>kill -9</c>) at the N-th point it reaches;
/// <c>GANSHARP_TEST_KILL_AT=list</c> prints each point to standard error instead. Unset, it costs one branch.
/// </summary>
internal static class FaultPoints
{
    public const string Variable = "GANSHARP_TEST_KILL_AT";

    private static readonly string? Setting = Environment.GetEnvironmentVariable(Variable);
    private static readonly int KillAt = int.TryParse(Setting, out int n) ? n : -1;
    private static int _count;
    private static int _depth;

    /// <summary>Whether points count now: only inside a checkpoint write (<see cref="Checkpoint"/>).</summary>
    public static bool Armed => Setting is not null && Volatile.Read(ref _depth) > 0;

    /// <summary>Marks the extent of one checkpoint write; points outside it (pages, logs) do not count.</summary>
    public static IDisposable Checkpoint()
    {
        Interlocked.Increment(ref _depth);
        return new Exit();
    }

    public static void Reached(string what)
    {
        if (!Armed) return;
        int index = Interlocked.Increment(ref _count);
        if (Setting == "list") Console.Error.WriteLine($"fault point {index}: {what}");
        if (index == KillAt)
        {
            Console.Error.Flush();
            System.Diagnostics.Process.GetCurrentProcess().Kill();
            Thread.Sleep(Timeout.Infinite);
        }
    }

    private sealed class Exit : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) Interlocked.Decrement(ref _depth);
        }
    }
}
