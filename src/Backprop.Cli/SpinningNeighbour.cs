using System.Diagnostics;

namespace Backprop.Cli;

/// <summary>
/// A CPU-bound neighbour for <c>bench --contention</c>: a busy loop that keeps one core occupied, as another
/// user's process on a shared machine does. Where /bin/sh exists it is a separate process (closer to reality:
/// the OS schedules it against this process's threads as it would anyone else's), otherwise a thread here.
/// <para>
/// It always stops. <see cref="Dispose"/> kills it (the bench disposes it in a finally block, so errors stop
/// it too); Ctrl+C and process exit kill it from their handlers; and the child checks every ~10 ms that its
/// parent still exists and ends by itself when it does not, so not even a SIGKILL of the bench leaves it
/// spinning.
/// </para>
/// </summary>
internal sealed class SpinningNeighbour : IDisposable
{
    private Process? _process;
    private Thread? _thread;
    private volatile bool _stop;
    private readonly ConsoleCancelEventHandler _onCancel;
    private readonly EventHandler _onExit;

    private SpinningNeighbour()
    {
        // Ctrl+C is not cancelled here: the bench ends as asked, and the neighbour with it.
        _onCancel = (_, _) => Stop();
        _onExit = (_, _) => Stop();
        Console.CancelKeyPress += _onCancel;
        AppDomain.CurrentDomain.ProcessExit += _onExit;
    }

    /// <summary>"process" or "thread".</summary>
    public string Kind => _process is not null ? "process" : "thread";

    /// <summary>The child's process id, or null for a thread.</summary>
    public int? ProcessId => _process?.Id;

    /// <summary>Starts the neighbour and gives it a moment to be running before anything is timed.</summary>
    public static SpinningNeighbour Start()
    {
        var neighbour = new SpinningNeighbour();
        neighbour._process = TryStartProcess();
        if (neighbour._process is null)
        {
            // A background thread, so it cannot outlive the process either.
            neighbour._thread = new Thread(neighbour.Spin) { IsBackground = true, Name = "bench --contention neighbour" };
            neighbour._thread.Start();
        }
        Thread.Sleep(100);
        return neighbour;
    }

    private void Spin()
    {
        ulong x = 1;
        while (!_stop) x = x * 6364136223846793005UL + 1;
        GC.KeepAlive(x);
    }

    private static Process? TryStartProcess()
    {
        if (OperatingSystem.IsWindows() || !File.Exists("/bin/sh")) return null;
        // Pure shell arithmetic (no memory traffic to speak of), with a check that the parent is alive
        // between bursts of ~20,000 iterations.
        string script = $"while kill -0 {Environment.ProcessId} 2>/dev/null; do i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; done";
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardInput = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        try { return Process.Start(start); }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException) { return null; }
    }

    private void Stop()
    {
        _stop = true;
        try
        {
            if (_process is { HasExited: false }) _process.Kill();
        }
        catch (InvalidOperationException) { } // exited meanwhile
        catch (System.ComponentModel.Win32Exception) { }
    }

    public void Dispose()
    {
        Stop();
        _thread?.Join();
        if (_process is not null)
        {
            _process.WaitForExit(5000);
            _process.Dispose();
        }
        Console.CancelKeyPress -= _onCancel;
        AppDomain.CurrentDomain.ProcessExit -= _onExit;
    }
}
