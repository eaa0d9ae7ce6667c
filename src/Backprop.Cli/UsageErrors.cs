using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text.RegularExpressions;

namespace Backprop.Cli;

/// <summary>
/// A command line that does not parse, said in one line: what is wrong, a "did you mean" where a
/// known name is close, and where the help is. Never the whole help, never .NET type names.
/// </summary>
internal static partial class UsageErrors
{
    /// <summary>The one-line description of the first problem in <paramref name="parse"/>, or null when it parsed.</summary>
    public static string? Describe(ParseResult parse)
    {
        if (parse.Errors.Count == 0) return null;
        var command = parse.CommandResult.Command;
        string help = $"see '{CommandPath(parse.CommandResult)} --help'";

        // An unknown word comes first: the errors after it (a missing required option) usually follow from it.
        if (parse.UnmatchedTokens.Count > 0)
        {
            string token = parse.UnmatchedTokens[0];
            if (FlagBefore(parse, token) is { } flag)
                return $"{flag.Name}: '{CliErrors.Quote(token)}' is not true or false (a switch: give {flag.Name} alone, or {flag.Name} true or {flag.Name} false); {help}.";
            if (token.StartsWith('-'))
            {
                var names = command.Options.Where(o => !o.Hidden).SelectMany(o => o.Aliases.Prepend(o.Name));
                string name = token.Split('=', 2)[0];
                return $"unknown option '{CliErrors.Quote(name)}' for '{CommandPath(parse.CommandResult)}'{Suggest(name, names)}; {help}.";
            }
            if (command.Subcommands.Count > 0 && parse.CommandResult.Parent is null)
                return $"'{CliErrors.Quote(token)}' is not a backprop command{Suggest(token, command.Subcommands.Select(c => c.Name))}; see 'backprop --help' for the list.";
            return $"unexpected argument '{CliErrors.Quote(token)}' for '{CommandPath(parse.CommandResult)}' (a value without its option, or one file too many); {help}.";
        }

        var error = parse.Errors[0];
        string message = error.Message;
        if (error.SymbolResult is OptionResult { Option: var option } && message.Contains("is required", StringComparison.Ordinal))
            return $"'{CommandPath(parse.CommandResult)}' needs {option.Name} ({FirstSentence(option.Description)}); {help}.";
        if (message.StartsWith("Required argument", StringComparison.Ordinal) && command.Arguments.Count > 0)
        {
            var missing = command.Arguments.First(a => message.Contains($"'{a.Name}'", StringComparison.Ordinal) || a == command.Arguments[0]);
            return $"'{CommandPath(parse.CommandResult)}' needs {missing.Name} ({FirstSentence(missing.Description)}); {help}.";
        }
        if (message.StartsWith("Required command", StringComparison.Ordinal))
            return $"give a command; see 'backprop --help' for the list.";
        // Messages written by Backprop's own parsers and validators already name the option and the value.
        if (message.StartsWith('-')) return $"{message.TrimEnd('.')}; {help}.";
        var owner = error.SymbolResult switch
        {
            OptionResult o => o.Option,
            ArgumentResult { Parent: OptionResult o } => o.Option,
            _ => null,
        };
        if (owner is not null && !message.Contains(owner.Name, StringComparison.Ordinal))
            return $"{owner.Name}: {Rewrite(message).TrimEnd('.')}; {help}.";
        return $"{Rewrite(message).TrimEnd('.')}; {help}.";
    }

    /// <summary>" (did you mean 'x'?)" for the closest of <paramref name="known"/> when it is close enough, else "".</summary>
    public static string Suggest(string given, IEnumerable<string> known)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var candidate in known.Distinct())
        {
            int d = Distance(given.ToLowerInvariant(), candidate.ToLowerInvariant());
            bool prefix = candidate.StartsWith(given, StringComparison.OrdinalIgnoreCase) && given.TrimStart('-').Length >= 2;
            if (prefix) d = Math.Min(d, 1);
            if (d < bestDistance) { best = candidate; bestDistance = d; }
        }
        int allowed = Math.Max(1, given.TrimStart('-').Length / 3);
        return best is not null && bestDistance <= allowed ? $" (did you mean '{best}'?)" : "";
    }

    /// <summary>The on/off option written just before <paramref name="token"/> (as in --refit maybe), if any.</summary>
    private static Option? FlagBefore(ParseResult parse, string token)
    {
        var tokens = parse.Tokens;
        for (int i = 1; i < tokens.Count; i++)
        {
            if (tokens[i].Value != token) continue;
            var before = tokens[i - 1].Value;
            var option = parse.CommandResult.Command.Options.FirstOrDefault(o => o.Name == before || o.Aliases.Contains(before));
            if (option is not null && (option.ValueType == typeof(bool) || option.ValueType == typeof(bool?))) return option;
        }
        return null;
    }

    private static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? r = result; r is not null; r = r.Parent)
            if (r is CommandResult c) names.Add(c.Parent is null ? "backprop" : c.Command.Name);
        names.Reverse();
        return string.Join(" ", names);
    }

    private static string FirstSentence(string? text)
    {
        if (string.IsNullOrEmpty(text)) return "a value";
        int end = text.IndexOf(". ", StringComparison.Ordinal);
        string first = (end > 0 ? text[..end] : text.TrimEnd('.')).ReplaceLineEndings(" ");
        // "Name of the column" reads as part of the sentence; "CSV file" keeps its capitals.
        return first.Length > 1 && char.IsUpper(first[0]) && char.IsLower(first[1]) ? char.ToLowerInvariant(first[0]) + first[1..] : first;
    }

    /// <summary>System.CommandLine's wording with its .NET type names turned into what a value should look like.</summary>
    private static string Rewrite(string message)
    {
        var m = CannotParse().Match(message);
        if (m.Success)
            return $"{m.Groups["symbol"].Value}: '{CliErrors.Quote(m.Groups["value"].Value)}' is not {Expected(m.Groups["type"].Value)}";
        return TypeName().Replace(message, t => Expected(t.Value));
    }

    private static string Expected(string typeName) => typeName switch
    {
        _ when typeName.Contains("Boolean", StringComparison.Ordinal) => "true or false",
        _ when typeName.Contains("Double", StringComparison.Ordinal) || typeName.Contains("Single", StringComparison.Ordinal) => "a number",
        _ when typeName.Contains("Int", StringComparison.Ordinal) => "a whole number",
        _ when typeName.Contains("FileInfo", StringComparison.Ordinal) => "a file name",
        _ => "a valid value",
    };

    /// <summary>Edit distance with a swap of two neighbours ("trian" for "train") counted as one edit.</summary>
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }

    [GeneratedRegex(@"Cannot parse argument '(?<value>.*)' for (option|command|argument) '(?<symbol>[^']*)' as expected type '(?<type>[^']*)'")]
    private static partial Regex CannotParse();

    [GeneratedRegex(@"System\.[A-Za-z0-9_.`\[\]]+")]
    private static partial Regex TypeName();
}
