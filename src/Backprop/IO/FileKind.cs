using System.Runtime.InteropServices;

namespace Backprop.IO;

/// <summary>What a path names on disk, as stat(2) sees it after following links.</summary>
public enum FileKind { Missing, Regular, Directory, CharacterDevice, BlockDevice, Fifo, Socket, Other }

/// <summary>
/// stat(2) for the two facts .NET does not expose on Unix: the kind of file (is it a device or a FIFO,
/// which must be written straight through rather than replaced) and its identity (device and inode,
/// so "the output is one of the inputs" is caught through links and hard links too).
/// </summary>
public static class FileIdentity
{
    private const int S_IFMT = 0xF000, S_IFREG = 0x8000, S_IFDIR = 0x4000, S_IFCHR = 0x2000,
        S_IFBLK = 0x6000, S_IFIFO = 0x1000, S_IFSOCK = 0xC000;

    // glibc 2.33 and later export stat; older ones only __xstat (with _STAT_VER 1 on x86-64, 0 on arm64).
    [DllImport("libc", EntryPoint = "stat", SetLastError = true)]
    private static extern unsafe int Stat(string path, byte* buffer);

    [DllImport("libc", EntryPoint = "__xstat", SetLastError = true)]
    private static extern unsafe int XStat(int version, string path, byte* buffer);

    /// <summary>The kind of file at <paramref name="path"/> (links followed), or Missing.</summary>
    public static FileKind KindOf(string path)
    {
        if (!OperatingSystem.IsLinux())
            return Directory.Exists(path) ? FileKind.Directory : File.Exists(path) ? FileKind.Regular : FileKind.Missing;
        if (!TryStat(path, out int mode, out _, out _)) return FileKind.Missing;
        return (mode & S_IFMT) switch
        {
            S_IFREG => FileKind.Regular,
            S_IFDIR => FileKind.Directory,
            S_IFCHR => FileKind.CharacterDevice,
            S_IFBLK => FileKind.BlockDevice,
            S_IFIFO => FileKind.Fifo,
            S_IFSOCK => FileKind.Socket,
            _ => FileKind.Other,
        };
    }

    /// <summary>True when both paths exist and are the same file (same device and inode).</summary>
    public static bool SameFile(string a, string b)
    {
        if (OperatingSystem.IsLinux() && TryStat(a, out _, out var devA, out var inoA) && TryStat(b, out _, out var devB, out var inoB))
            return devA == devB && inoA == inoB;
        return string.Equals(Path.GetFullPath(a), Path.GetFullPath(b), StringComparison.Ordinal);
    }

    private static unsafe bool TryStat(string path, out int mode, out ulong device, out ulong inode)
    {
        // struct stat: st_dev (8 bytes) and st_ino (8) come first on both 64-bit Linux ABIs; st_mode
        // follows st_nlink (8) on x86-64 and comes straight after st_ino on arm64.
        int modeOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 24 : 16;
        byte* buffer = stackalloc byte[512];
        int rc;
        try { rc = Stat(path, buffer); }
        catch (EntryPointNotFoundException)
        {
            rc = XStat(RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 1 : 0, path, buffer);
        }
        if (rc != 0) { mode = 0; device = inode = 0; return false; }
        device = *(ulong*)buffer;
        inode = *(ulong*)(buffer + 8);
        mode = *(int*)(buffer + modeOffset);
        return true;
    }
}
