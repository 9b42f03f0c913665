using GanSharp.Options;
using System.Globalization;

namespace GanSharp.Training;

/// <summary>
/// One trainer per run folder. The exclusion itself is an advisory lock of the operating system on
/// <c>train.lock</c> (.NET takes <c>flock</c> for <see cref="FileShare.None"/> on Unix and a share lock on Windows):
/// the kernel drops it when the holder dies, however it dies, so a lock left by a killed run never blocks the next
/// one. Because a locked file cannot be read through .NET, the holder's pid and host go to <c>train.owner</c> beside
/// it, for the message that refuses a second trainer.
/// </summary>
public sealed class RunLock : IDisposable
{
    public const string FileName = "train.lock";
    public const string OwnerFileName = "train.owner";

    private readonly FileStream _stream;
    private readonly string _dir;
    private readonly bool _createdDir;

    private RunLock(FileStream stream, string dir, bool createdDir)
    {
        _stream = stream;
        _dir = dir;
        _createdDir = createdDir;
    }

    /// <summary>Takes the run folder <paramref name="runDir"/> (creating it) or refuses with the holder's pid.</summary>
    public static RunLock Acquire(string runDir)
    {
        string dir = Path.GetFullPath(runDir);
        bool created = !Directory.Exists(dir);
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, FileName);
        FileStream stream;
        while (true)
        {
            try
            {
                stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException e) when (!AtomicFile.IsDiskFull(e) && File.Exists(path))
            {
                throw new GanSharpException(ErrorKind.RunBusy,
                    $"{dir} is in use: {DescribeHolder(dir)} is training in it; wait for it to finish, stop it (Ctrl+C saves a checkpoint), or " +
                        $"choose another {RunOptionSpecs.Name.Flag}.", e);
            }
            // The holder deletes the file as it lets go; a lock taken on a file deleted meanwhile locks nothing.
            if (File.Exists(path)) break;
            stream.Dispose();
        }
        try
        {
            var proc = System.Diagnostics.Process.GetCurrentProcess();
            string owner = string.Create(CultureInfo.InvariantCulture,
                $"pid {Environment.ProcessId}\nhost {Environment.MachineName}\nstarted {proc.StartTime.ToUniversalTime():O}\n");
            AtomicFile.WriteAllText(Path.Combine(dir, OwnerFileName), owner);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
        return new RunLock(stream, dir, created);
    }

    private static string DescribeHolder(string dir)
    {
        try
        {
            var lines = File.ReadAllLines(Path.Combine(dir, OwnerFileName));
            string? pid = lines.FirstOrDefault(l => l.StartsWith("pid ", StringComparison.Ordinal))?[4..];
            string? host = lines.FirstOrDefault(l => l.StartsWith("host ", StringComparison.Ordinal))?[5..];
            if (pid is null) return "another process";
            return host is null || host == Environment.MachineName ? $"process {pid}" : $"process {pid} on {host}";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "another process";
        }
    }

    /// <summary>
    /// Releases the lock and removes its files. A run folder this lock created and that is empty afterwards (a run
    /// refused before it wrote anything) is removed too, so a refused command leaves no trace.
    /// </summary>
    public void Dispose()
    {
        try
        {
            // Deleted while still held, so no one can lock the old file in between and think it holds the folder.
            File.Delete(Path.Combine(_dir, OwnerFileName));
            File.Delete(Path.Combine(_dir, FileName));
            _stream.Dispose();
            if (_createdDir && !Directory.EnumerateFileSystemEntries(_dir).Any()) Directory.Delete(_dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Leaving an empty folder behind is harmless; failing the command for it is not.
        }
        finally
        {
            _stream.Dispose();
        }
    }
}
