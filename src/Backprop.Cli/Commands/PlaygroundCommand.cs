using System.CommandLine;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Backprop.Cli.Commands;

/// <summary>
/// Serves the browser playground (src/Backprop.Playground, published as static files into the tool's
/// folder when the CLI is built: see docs/playground.md) on localhost.
/// </summary>
internal static class PlaygroundCommand
{
    public const int DefaultPort = 5217;

    public static Command Create()
    {
        var port = new Option<int>("--port") { Description = $"Port on localhost to serve the page on (0 picks a free one).", DefaultValueFactory = _ => DefaultPort };
        var noOpen = new Option<bool>("--no-open") { Description = "Do not open the page in the default browser; just print its address." };
        var dir = new Option<DirectoryInfo?>("--dir") { Description = "Serve this published playground folder (the one holding index.html) instead of the one installed with the tool." };
        var command = new Command("playground", "Serve the playground on localhost: TensorFlow Playground's experiment on Backprop's own engine in the browser, " +
            "with your own CSV, the backward pass one step at a time, formulas on hover and the forward-mode counts. Stop with Ctrl+C.\n" +
            "Example: backprop playground --port 8080 --no-open") { port, noOpen, dir };
        command.SetAction(parse =>
        {
            int p = parse.GetValue(port);
            if (p is < 0 or > 65535) throw new CliUsageException($"--port must be 0 to 65535; got {p}.");
            string root = parse.GetValue(dir) is { } d ? CheckRoot(d.FullName, "--dir") : PlaygroundServer.FindInstalled();
            using var server = PlaygroundServer.Start(root, p);
            var output = parse.InvocationConfiguration.Output;
            output.WriteLine($"Backprop playground: {server.Address}");
            output.WriteLine($"Serving {root}; press Ctrl+C to stop.");
            output.Flush();
            if (!parse.GetValue(noOpen)) TryOpenBrowser(server.Address, parse.InvocationConfiguration.Error);
            using var stop = new ManualResetEventSlim();
            ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; stop.Set(); };
            Console.CancelKeyPress += onCancel;
            try { stop.Wait(); }
            finally { Console.CancelKeyPress -= onCancel; }
            return 0;
        });
        return command;
    }

    internal static string CheckRoot(string folder, string what)
    {
        if (!File.Exists(Path.Combine(folder, "index.html")))
            throw new CliUsageException($"{what}: '{folder}' has no index.html; pass the published playground's wwwroot folder (dotnet publish src/Backprop.Playground -c Release -o OUT, then OUT/wwwroot).");
        return Path.GetFullPath(folder);
    }

    private static void TryOpenBrowser(string url, TextWriter error)
    {
        string opener = OperatingSystem.IsWindows() ? "explorer" : OperatingSystem.IsMacOS() ? "open" : "xdg-open";
        try
        {
            using var process = Process.Start(new ProcessStartInfo(opener, url) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true });
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            error.WriteLine($"note: could not open a browser ({opener}: {e.Message}); open {url} yourself.");
        }
    }
}

/// <summary>
/// A static file server for the published playground on 127.0.0.1 (HttpListener: no web framework
/// needed). It serves files under its root only, with the MIME types WebAssembly needs.
/// </summary>
public sealed class PlaygroundServer : IDisposable
{
    private readonly HttpListener _listener;
    private readonly string _root;
    private readonly Thread _thread;

    private PlaygroundServer(HttpListener listener, string root, int port)
    {
        _listener = listener;
        _root = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        Port = port;
        _thread = new Thread(Serve) { IsBackground = true, Name = "playground server" };
        _thread.Start();
    }

    public int Port { get; }
    public string Address => $"http://localhost:{Port}/";

    /// <summary>The playground installed beside the tool: &lt;tool folder&gt;/playground/wwwroot.</summary>
    public static string FindInstalled()
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "playground", "wwwroot");
        if (!File.Exists(Path.Combine(folder, "index.html")))
            throw new BackpropException($"the playground is not installed beside this tool (no {folder}{Path.DirectorySeparatorChar}index.html). " +
                "Build the CLI (dotnet build src/Backprop.Cli -c Release publishes it there), or publish it yourself and pass --dir OUT/wwwroot.");
        return folder;
    }

    /// <summary>Starts serving <paramref name="root"/> on 127.0.0.1:<paramref name="port"/> (0: a free port).</summary>
    public static PlaygroundServer Start(string root, int port)
    {
        int chosen = port == 0 ? FreePort() : port;
        var listener = new HttpListener();
        listener.Prefixes.Add($"http://localhost:{chosen}/");
        listener.Prefixes.Add($"http://127.0.0.1:{chosen}/");
        try
        {
            listener.Start();
        }
        catch (HttpListenerException e)
        {
            // Not a usage error (exit 2): the option is well formed, the port is taken (a failure, exit 1).
            throw new BackpropException($"--port {chosen}: cannot listen on localhost ({e.Message}); pass another port, or --port 0 for a free one.");
        }
        return new PlaygroundServer(listener, Path.GetFullPath(root), chosen);
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private void Serve()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = _listener.GetContext(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            ThreadPool.QueueUserWorkItem(_ => Respond(context));
        }
    }

    private void Respond(HttpListenerContext context)
    {
        var response = context.Response;
        try
        {
            string path = Uri.UnescapeDataString(context.Request.Url?.AbsolutePath ?? "/").TrimStart('/');
            if (path.Length == 0) path = "index.html";
            string file = Path.GetFullPath(Path.Combine(_root, path));
            if (!file.StartsWith(_root, StringComparison.Ordinal) || !File.Exists(file))
            {
                response.StatusCode = 404;
                return;
            }
            response.ContentType = ContentType(file);
            // index.html names the fingerprinted files; it must be fetched afresh after an update.
            response.AddHeader("Cache-Control", path == "index.html" ? "no-cache" : "max-age=3600");
            using var stream = File.OpenRead(file);
            response.ContentLength64 = stream.Length;
            if (context.Request.HttpMethod != "HEAD") stream.CopyTo(response.OutputStream);
        }
        catch (Exception e) when (e is IOException or HttpListenerException or UnauthorizedAccessException)
        {
            // The browser went away mid-download, or the file cannot be read: nothing more to send.
            try { response.StatusCode = 500; } catch (InvalidOperationException) { }
        }
        finally
        {
            try { response.Close(); } catch (Exception e) when (e is HttpListenerException or ObjectDisposedException) { }
        }
    }

    private static string ContentType(string file) => Path.GetExtension(file).ToLowerInvariant() switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" or ".mjs" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".json" => "application/json",
        ".wasm" => "application/wasm",
        ".png" => "image/png",
        ".svg" => "image/svg+xml",
        ".ico" => "image/x-icon",
        ".txt" or ".csv" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };

    public void Dispose()
    {
        if (_listener.IsListening) _listener.Stop();
        _listener.Close();
    }
}
