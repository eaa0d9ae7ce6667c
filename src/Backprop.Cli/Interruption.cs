namespace Backprop.Cli;

/// <summary>
/// Ctrl-C (SIGINT) turned into a cancellation the training loop checks between batches, so a run can
/// stop cleanly, save what it says it kept and exit 130. A second Ctrl-C is not intercepted: the process
/// ends at once, as the user asked twice (files being written stay whole: the atomic writer).
/// </summary>
internal sealed class Interruption : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly ConsoleCancelEventHandler _handler;

    private Interruption()
    {
        _handler = (_, e) =>
        {
            if (_source.IsCancellationRequested) return; // the second Ctrl-C: let it terminate
            e.Cancel = true;
            Console.Error.WriteLine("interrupt: finishing the current batch and saving what was kept (Ctrl-C again to quit at once) …");
            _source.Cancel();
        };
        Console.CancelKeyPress += _handler;
    }

    public CancellationToken Token => _source.Token;

    public static Interruption OnCtrlC() => new();

    public void Dispose()
    {
        Console.CancelKeyPress -= _handler;
        _source.Dispose();
    }
}
