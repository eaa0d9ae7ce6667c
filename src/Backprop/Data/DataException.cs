namespace Backprop.Data;

/// <summary>
/// Input data that cannot be used: a malformed CSV, a missing or non-numeric value, a target column that
/// does not exist. The message names the file, the line (1-based, the header is line 1) and the column
/// (name and 1-based index) where it can, and says how to fix it.
/// </summary>
public sealed class DataException(string message) : BackpropException(message);
