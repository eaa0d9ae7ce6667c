using System.Text;
using Backprop.Data;

namespace Backprop.Tests.Data;

public class CsvReaderTests
{
    private static List<string?> Row(DataTable table, int r) => [.. table.Columns.Select(c => c.Text(r))];

    [Fact]
    public void QuotedFieldsWithDoubledQuotesDelimitersAndNewlines()
    {
        string text = "name,note,value\r\n"
            + "\"Smith, J.\",\"said \"\"hi\"\"\",1\r\n"
            + "plain,\"two\nlines\",2\r\n"
            + "\"\",x,3\r\n"
            + "\r\n";
        var table = DataTable.Parse(text, "t.csv");
        Assert.Equal(["name", "note", "value"], table.Header);
        Assert.Equal(3, table.Rows);
        Assert.Equal(new List<string?> { "Smith, J.", "said \"hi\"", "1" }, Row(table, 0));
        Assert.Equal(new List<string?> { "plain", "two\nlines", "2" }, Row(table, 1));
        // An empty field is a missing value.
        Assert.Equal(new List<string?> { null, "x", "3" }, Row(table, 2));
        // The quoted newline makes row 3 start on physical line 5.
        Assert.Equal([2, 3, 5], Enumerable.Range(0, 3).Select(table.Line));
    }

    [Fact]
    public void ByteOrderMarkAndLfAndBlankLines()
    {
        var table = DataTable.Parse("\uFEFFa,b\n1,2\n\n3,4", "t.csv");
        Assert.Equal(["a", "b"], table.Header);
        Assert.Equal([2, 4], new[] { table.Line(0), table.Line(1) });
        Assert.Equal(new List<string?> { "3", "4" }, Row(table, 1));
    }

    [Fact]
    public void ByteOrderMarkInFileIsStripped()
    {
        using var dir = new TempDir();
        string path = dir.File("bom.csv");
        File.WriteAllBytes(path, [0xEF, 0xBB, 0xBF, .. "x,y\n1,2\n"u8.ToArray()]);
        Assert.Equal("x", DataTable.Load(path).Header[0]);
    }

    [Theory]
    [InlineData("a;b;c\n1;2;3\n", ';')]
    [InlineData("a\tb\tc\n1\t2\t3\n", '\t')]
    [InlineData("a,b,c\n1,2,3\n", ',')]
    [InlineData("\"a;x\",b,c\n1,2,3\n", ',')]
    public void DetectsDelimiterFromHeader(string text, char expected)
    {
        using var reader = new CsvReader(new MemoryStream(Encoding.UTF8.GetBytes(text)), "t.csv");
        Assert.Equal(expected, reader.Delimiter);
        Assert.Equal(3, DataTable.Parse(text, "t.csv").Header.Count);
    }

    [Fact]
    public void ExplicitDelimiterWins()
    {
        var table = DataTable.Parse("a,b|c\n1,5|2\n", "t.csv", new CsvOptions { Delimiter = '|' });
        Assert.Equal(["a,b", "c"], table.Header);
        Assert.Equal(new List<string?> { "1,5", "2" }, Row(table, 0));
    }

    [Fact]
    public void HeaderNamesAreTrimmed()
    {
        var table = DataTable.Parse(" a , b\n1,2\n", "t.csv");
        Assert.Equal(["a", "b"], table.Header);
    }

    [Fact]
    public void ColumnsAreStoredByKind()
    {
        var table = DataTable.Parse("n,t,m\n1,red,NA\n2.5,blue,?\nnull,red,3\n", "t.csv");
        Assert.True(table.Columns[0].IsNumeric);
        Assert.Equal(1, table.Columns[0].MissingCount);
        Assert.False(table.Columns[1].IsNumeric);
        Assert.Equal(["red", "blue"], table.Columns[1].Distinct);
        Assert.True(table.Columns[2].IsNumeric);
        Assert.Equal(2, table.Columns[2].MissingCount);
        Assert.Equal(3, table.Columns[2].Number(2));
    }

    [Theory]
    [InlineData("")]
    [InlineData("NA")]
    [InlineData("na")]
    [InlineData("N/A")]
    [InlineData("n/a")]
    [InlineData("NaN")]
    [InlineData("nan")]
    [InlineData("NULL")]
    [InlineData("null")]
    [InlineData("?")]
    [InlineData("  NA  ")]
    public void MissingSpellingsAreMissingInNumericAndTextColumns(string cell)
    {
        var table = DataTable.Parse($"n,t\n1,a\n\"{cell}\",\"{cell}\"\n", "t.csv");
        Assert.True(table.Columns[0].IsNumeric);
        Assert.True(table.Columns[0].IsMissing(1));
        Assert.True(table.Columns[1].IsMissing(1));
    }

    [Theory]
    [InlineData("inf", double.PositiveInfinity)]
    [InlineData("-Inf", double.NegativeInfinity)]
    [InlineData("+infinity", double.PositiveInfinity)]
    [InlineData("Infinity", double.PositiveInfinity)]
    [InlineData("1e999", double.PositiveInfinity)]
    [InlineData("1,5", double.NaN)]
    [InlineData("1_000", double.NaN)]
    public void NumbersAreInvariantAndInfinityIsANumber(string cell, double expected)
    {
        bool ok = Cells.TryParseNumber(cell, out double v);
        if (double.IsNaN(expected)) Assert.False(ok);
        else { Assert.True(ok); Assert.Equal(expected, v); }
    }

    [Theory]
    [InlineData("latin1", new byte[] { 0x4B, 0xF6, 0x6C, 0x6E })]
    [InlineData("utf-16", new byte[] { 0xFF, 0xFE })]
    [InlineData("utf-16", new byte[0])]
    [InlineData("utf-16be", new byte[] { 0xFE, 0xFF })]
    public void EncodingsDecode(string encoding, byte[] marker)
    {
        using var dir = new TempDir();
        string path = dir.File("e.csv");
        byte[] bytes = encoding switch
        {
            "latin1" => [.. Encoding.Latin1.GetBytes("city,y\nK"), 0xF6, .. Encoding.Latin1.GetBytes("ln,1\nOslo,0\n")],
            "utf-16" => [.. marker, .. Encoding.Unicode.GetBytes("city,y\nKöln,1\nOslo,0\n")],
            _ => [.. marker, .. Encoding.BigEndianUnicode.GetBytes("city,y\nKöln,1\nOslo,0\n")],
        };
        File.WriteAllBytes(path, bytes);
        var table = DataTable.Load(path, new CsvOptions { Encoding = CsvOptions.ParseEncoding(encoding) });
        Assert.Equal(["city", "y"], table.Header);
        Assert.Equal("Köln", table.Columns[0].Text(0));
    }

    [Fact]
    public void Utf16WithoutOptionSaysSo()
    {
        using var dir = new TempDir();
        string path = dir.File("u.csv");
        File.WriteAllBytes(path, Encoding.Unicode.GetBytes("city,y\nOslo,0\n"));
        var e = Assert.Throws<DataException>(() => DataTable.Load(path));
        Assert.Contains("--encoding utf-16", e.Message);
    }

    [Fact]
    public void EndlessLineIsRefusedWithoutReadingItAll()
    {
        // /dev/zero-like input without NULs: one record that never ends.
        var e = Assert.Throws<DataException>(() => new CsvReader(new EndlessStream((byte)'x'), "endless", new CsvOptions { MaxRecordLength = 1 << 20 }).Read());
        Assert.Contains("longer than", e.Message);
        if (File.Exists("/dev/zero"))
        {
            var z = Assert.Throws<DataException>(() => DataTable.Load("/dev/zero"));
            Assert.Contains("NUL", z.Message);
        }
    }

    [Fact]
    public void BlocksStreamTheSameRows()
    {
        using var dir = new TempDir();
        var sb = new StringBuilder("a,b\n");
        for (int i = 0; i < 1000; i++) sb.Append(i).Append(',').Append(i % 3 == 0 ? "x" : "y").Append('\n');
        string path = dir.File("big.csv", sb.ToString());
        var blocks = DataTable.ReadBlocks(path, 64).ToList();
        Assert.Equal(16, blocks.Count);
        Assert.Equal(1000, blocks.Sum(b => b.Rows));
        Assert.Equal(2 + 999, blocks[^1].Line(blocks[^1].Rows - 1));
        Assert.Equal(999, blocks[^1].Columns[0].Number(blocks[^1].Rows - 1));
    }

    private sealed class EndlessStream(byte value) : Stream
    {
        public override int Read(byte[] buffer, int offset, int count) { Array.Fill(buffer, value, offset, count); return count; }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => 0; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
