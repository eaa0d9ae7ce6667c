namespace Backprop.Cli; public static class Program { public static int Main(string[] args) { System.Console.WriteLine("backprop"); return 0; } }
