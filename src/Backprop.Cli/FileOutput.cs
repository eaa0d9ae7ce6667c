namespace Backprop.Cli;

/// <summary>Temporary: replaced by Backprop.IO.AtomicFile when it lands on main.</summary>
internal static class FileOutput
{
    public static void WriteAllBytes(string path, byte[] bytes)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        File.WriteAllBytes(path, bytes);
    }

    public static void WriteAllText(string path, string text) => WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(text));
}
