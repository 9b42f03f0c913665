using GanSharp.Training;

namespace GanSharp.Interop;

/// <summary>
/// Weights files in either format GanSharp reads: PyTorch's .pth (zip or legacy) and safetensors. Every place that
/// takes a user's weights (generators for <c>test</c>, VGG19, Inception) reads through here, so both work everywhere.
/// </summary>
internal static class WeightsFile
{
    public const string SafeTensorsExtension = ".safetensors";

    /// <summary>
    /// Reads a state dict from a .pth or .safetensors file, told apart by content (a safetensors file starts with its
    /// header length and then the JSON header's "{"), so a renamed file still reads.
    /// </summary>
    public static StateDict ReadStateDict(string path) =>
        IsSafeTensors(path) ? SafeTensors.Read(path) : PthReader.ReadStateDict(path);

    private static bool IsSafeTensors(string path)
    {
        if (!File.Exists(path)) return false;
        using var fs = File.OpenRead(path);
        Span<byte> head = stackalloc byte[9];
        return fs.ReadAtLeast(head, head.Length, throwOnEndOfStream: false) == head.Length && head[8] == (byte)'{';
    }

    /// <summary>
    /// A network's weights in a run folder: <c>{which}_net_{net}.pth</c> or, when only that exists, the
    /// <c>.safetensors</c> that <c>gansharp export</c> writes; the .pth path when neither exists (for the messages).
    /// </summary>
    public static string NetPath(RunFolder folder, string which, string net)
    {
        string pth = folder.NetPath(which, net);
        if (File.Exists(pth)) return pth;
        string st = Path.ChangeExtension(pth, SafeTensorsExtension);
        return File.Exists(st) ? st : pth;
    }
}
