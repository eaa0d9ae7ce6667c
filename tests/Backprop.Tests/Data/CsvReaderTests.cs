using Backprop.Data;

namespace Backprop.Tests.Data;

public class CsvReaderTests
{
    [Fact]
    public void QuotedFieldsWithDoubledQuotesDelimitersAndNewlines()
    {
        string text = "name,note,value\r\n"
            + "\"Smith, J.\",\"said \"\"hi\"\"\",1\r\n"
            + "plain,\"two\nlines\",2\r\n"
            + "\"\",x,3\r\n"
            + "\r\n";
        var table = CsvReader.Parse(text, "t.csv");
        Assert.Equal(["name", "note", "value"], table.Columns);
        Assert.Equal(3, table.Rows.Count);
        Assert.Equal(["Smith, J.", "said \"hi\"", "1"], table.Rows[0]);
        Assert.Equal(["plain", "two\nlines", "2"], table.Rows[1]);
        Assert.Equal(["", "x", "3"], table.Rows[2]);
        // The quoted newline makes row 3 start on physical line 5.
        Assert.Equal([2, 3, 5], table.LineNumbers);
    }

    [Fact]
    public void ByteOrderMarkAndLfAndBlankLines()
    {
        var table = CsvReader.Parse("\uFEFFa,b\n1,2\n\n3,4", "t.csv");
        Assert.Equal(["a", "b"], table.Columns);
        Assert.Equal([2, 4], table.LineNumbers);
        Assert.Equal(["3", "4"], table.Rows[1]);
    }

    [Fact]
    public void ByteOrderMarkInFileIsStripped()
    {
        using var dir = new TempDir();
        string path = dir.File("bom.csv");
        File.WriteAllBytes(path, [0xEF, 0xBB, 0xBF, .. "x,y\n1,2\n"u8.ToArray()]);
        Assert.Equal("x", CsvReader.Read(path).Columns[0]);
    }

    [Theory]
    [InlineData("a;b;c\n1;2;3\n", ';')]
    [InlineData("a\tb\tc\n1\t2\t3\n", '\t')]
    [InlineData("a,b,c\n1,2,3\n", ',')]
    [InlineData("\"a;x\",b,c\n1,2,3\n", ',')]
    public void DetectsDelimiterFromHeader(string text, char expected)
    {
        var table = CsvReader.Parse(text, "t.csv");
        Assert.Equal(expected, table.Delimiter);
        Assert.Equal(3, table.Columns.Count);
    }

    [Fact]
    public void ExplicitDelimiterWins()
    {
        var table = CsvReader.Parse("a,b|c\n1,5|2\n", "t.csv", '|');
        Assert.Equal(["a,b", "c"], table.Columns);
        Assert.Equal(["1,5", "2"], table.Rows[0]);
    }

    [Fact]
    public void HeaderNamesAreTrimmed()
    {
        var table = CsvReader.Parse(" a , b\n1,2\n", "t.csv");
        Assert.Equal(["a", "b"], table.Columns);
    }
}
