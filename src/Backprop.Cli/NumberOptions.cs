using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Backprop.Cli;

/// <summary>
/// The one place numbers on the command line are read. System.CommandLine's own parser accepts group
/// separators, so <c>--lr 0,001</c> meant 1; here a number is culture-invariant, a dot for decimals and
/// nothing between the digits, and anything else is an error naming the option and the value.
/// <see cref="Apply"/> gives every numeric option of every command this parser, so a new option
/// cannot forget it.
/// </summary>
internal static class NumberOptions
{
    // Decimal point, exponent, sign and surrounding blanks; no thousands separators, no currency.
    private const NumberStyles RealStyle = NumberStyles.Float;
    private const NumberStyles IntegerStyle = NumberStyles.AllowLeadingSign | NumberStyles.AllowLeadingWhite | NumberStyles.AllowTrailingWhite;

    public static void Apply(Command command)
    {
        foreach (var option in command.Options)
        {
            switch (option)
            {
                case Option<double> o when o.CustomParser is null: o.CustomParser = r => Real(r, o.Name); break;
                case Option<double?> o when o.CustomParser is null: o.CustomParser = r => Real(r, o.Name); break;
                case Option<int> o when o.CustomParser is null: o.CustomParser = r => (int)Integer(r, o.Name, int.MinValue, int.MaxValue); break;
                case Option<int?> o when o.CustomParser is null: o.CustomParser = r => (int)Integer(r, o.Name, int.MinValue, int.MaxValue); break;
                case Option<long> o when o.CustomParser is null: o.CustomParser = r => Integer(r, o.Name, long.MinValue, long.MaxValue); break;
                case Option<ulong> o when o.CustomParser is null: o.CustomParser = r => Unsigned(r, o.Name); break;
            }
        }
        foreach (var sub in command.Subcommands) Apply(sub);
    }

    /// <summary>A finite real number, or an error: <c>--lr: '0,001' is not a number (use a dot for decimals, e.g. 0.001)</c>.</summary>
    public static double Real(ArgumentResult result, string option)
    {
        string text = Token(result);
        if (double.TryParse(text, RealStyle, CultureInfo.InvariantCulture, out double value))
        {
            if (double.IsFinite(value)) return value;
            result.AddError($"{option}: '{CliErrors.Quote(text)}' is not a finite number; give an ordinary number such as 0.5.");
            return 0;
        }
        result.AddError($"{option}: '{CliErrors.Quote(text)}' is not a number ({RealHint(text)}).");
        return 0;
    }

    public static long Integer(ArgumentResult result, string option, long min, long max)
    {
        string text = Token(result);
        if (long.TryParse(text, IntegerStyle, CultureInfo.InvariantCulture, out long value))
        {
            if (value >= min && value <= max) return value;
            result.AddError(string.Create(CultureInfo.InvariantCulture, $"{option}: {CliErrors.Quote(text)} is too large; give a whole number from {min} to {max}."));
            return 0;
        }
        result.AddError($"{option}: '{CliErrors.Quote(text)}' is not a whole number ({IntegerHint(text)}).");
        return 0;
    }

    public static ulong Unsigned(ArgumentResult result, string option)
    {
        string text = Token(result);
        if (ulong.TryParse(text, NumberStyles.AllowLeadingWhite | NumberStyles.AllowTrailingWhite, CultureInfo.InvariantCulture, out ulong value)) return value;
        result.AddError($"{option}: '{CliErrors.Quote(text)}' is not a whole number of 0 or more ({(text.TrimStart().StartsWith('-') ? "it cannot be negative, e.g. 42" : IntegerHint(text))}).");
        return 0;
    }

    private static string Token(ArgumentResult result) => result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";

    private static string RealHint(string text) =>
        text.Contains(',') ? "use a dot for decimals and no separators between digits, e.g. 0.001"
        : text.Length == 0 ? "give a value, e.g. 0.001"
        : "use digits with a dot for decimals, e.g. 0.001 or 1e-3";

    private static string IntegerHint(string text) =>
        text.Contains(',') || text.Contains('_') || text.Contains('\'') ? "write it without separators, e.g. 20000"
        : text.Contains('.') || text.Contains('e') || text.Contains('E') ? "give a whole number, e.g. 500"
        : text.Length == 0 ? "give a value, e.g. 500"
        : "use digits only, e.g. 500";

    // Range checks for options whose values have limits; a value outside them is a usage error (exit 2).

    public static Option<T> AtLeast<T>(this Option<T> option, double min) where T : struct
    {
        option.Validators.Add(r => Check(r, option.Name, v => v >= min, string.Create(CultureInfo.InvariantCulture, $"at least {min}")));
        return option;
    }

    public static Option<T> Above<T>(this Option<T> option, double min) where T : struct
    {
        option.Validators.Add(r => Check(r, option.Name, v => v > min, string.Create(CultureInfo.InvariantCulture, $"more than {min}")));
        return option;
    }

    public static Option<T?> Above<T>(this Option<T?> option, double min) where T : struct
    {
        option.Validators.Add(r => Check(r, option.Name, v => v > min, string.Create(CultureInfo.InvariantCulture, $"more than {min}")));
        return option;
    }

    public static Option<T?> AtLeast<T>(this Option<T?> option, double min) where T : struct
    {
        option.Validators.Add(r => Check(r, option.Name, v => v >= min, string.Create(CultureInfo.InvariantCulture, $"at least {min}")));
        return option;
    }

    public static Option<T> Between<T>(this Option<T> option, double lower, double upper) where T : struct
    {
        option.Validators.Add(r => Check(r, option.Name, v => v > lower && v < upper, string.Create(CultureInfo.InvariantCulture, $"between {lower} and {upper} (exclusive)")));
        return option;
    }

    /// <summary>
    /// A word option whose value must be one of <paramref name="names"/> (any case): anything else is a
    /// usage error listing them, with a "did you mean" when one is close. Only the first
    /// <paramref name="shown"/> names are listed (the rest are accepted spellings).
    /// </summary>
    public static Option<T> OneOf<T>(this Option<T> option, IReadOnlyList<string> names, int? shown = null)
    {
        option.Validators.Add(r =>
        {
            if (r.Implicit || r.Tokens.Count == 0) return;
            string text = r.Tokens[^1].Value;
            if (names.Contains(text.ToLowerInvariant())) return;
            var listed = names.Take(shown ?? names.Count);
            r.AddError($"{option.Name}: '{CliErrors.Quote(text)}' is not one of {string.Join(", ", listed)}{UsageErrors.Suggest(text, names)}.");
        });
        return option;
    }

    private static void Check(OptionResult result, string name, Func<double, bool> ok, string expected)
    {
        if (result.Implicit || result.Errors.Any() || result.Tokens.Count == 0) return;
        string text = result.Tokens[^1].Value;
        if (!double.TryParse(text, RealStyle, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v)) return; // the parser reports it
        if (!ok(v)) result.AddError($"{name}: {CliErrors.Quote(text)} is out of range; it must be {expected}.");
    }
}
