using Spectre.Console;

namespace Backprop.Cli;

/// <summary>
/// Spectre.Console consoles bound to the command's writers: results go to stdout, progress and notes to
/// stderr, so <c>--json</c> output stays clean when progress is shown.
/// </summary>
internal static class Consoles
{
    public static IAnsiConsole For(TextWriter writer, bool isError)
    {
        bool redirected = isError ? Console.IsErrorRedirected : Console.IsOutputRedirected;
        bool terminal = !redirected && (writer == Console.Out || writer == Console.Error);
        return AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
    }
}
