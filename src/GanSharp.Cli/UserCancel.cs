namespace GanSharp.Cli;

/// <summary>
/// Ctrl+C asks a long verb to stop at the next safe point (training saves a resumable checkpoint first); a second
/// Ctrl+C ends the process at once.
/// </summary>
public sealed class UserCancel : IDisposable
{
    private readonly CancellationTokenSource _cts;
    private int _presses;

    public UserCancel(CancellationToken outer)
    {
        _cts = CancellationTokenSource.CreateLinkedTokenSource(outer);
        Console.CancelKeyPress += OnCancel;
    }

    public CancellationToken Token => _cts.Token;

    private void OnCancel(object? sender, ConsoleCancelEventArgs e)
    {
        if (Interlocked.Increment(ref _presses) == 1)
        {
            e.Cancel = true;
            _cts.Cancel();
        }
    }

    public void Dispose()
    {
        Console.CancelKeyPress -= OnCancel;
        _cts.Dispose();
    }
}
