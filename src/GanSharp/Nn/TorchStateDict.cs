using static TorchSharp.torch;

namespace GanSharp.Nn;

/// <summary>State-dict entries in PyTorch's order.</summary>
internal static class TorchStateDict
{
    /// <summary>
    /// The entries of <c>module.state_dict()</c> as PyTorch orders them: a module's own parameters, then its own
    /// persistent buffers, then each child's entries in registration order. (TorchSharp's <c>state_dict()</c> lists
    /// all parameters of the tree before all buffers, which is the same set in another order.)
    /// </summary>
    public static List<(string Key, Tensor Value)> Entries(nn.Module module)
    {
        var result = new List<(string, Tensor)>();
        Collect(module, "", result);
        return result;
    }

    private static void Collect(nn.Module module, string prefix, List<(string, Tensor)> into)
    {
        foreach (var (name, p) in module.named_parameters(recurse: false))
            into.Add((prefix + name, p));
        foreach (var (name, b) in module.named_buffers(recurse: false, include_nonpersistent: false))
            into.Add((prefix + name, b));
        foreach (var (name, child) in module.named_children())
            Collect(child, prefix + name + ".", into);
    }
}
