namespace GanSharp.Data;

/// <summary>
/// Orders strings as the reference's util.natural_sort: runs of digits compare as numbers ("img2" before "img10"),
/// everything else ordinally.
/// </summary>
internal sealed class NaturalSort : IComparer<string?>
{
    public static readonly NaturalSort Instance = new();

    public int Compare(string? a, string? b)
    {
        if (ReferenceEquals(a, b)) return 0;
        if (a is null) return -1;
        if (b is null) return 1;
        int i = 0, j = 0;
        while (i < a.Length && j < b.Length)
        {
            bool da = char.IsAsciiDigit(a[i]), db = char.IsAsciiDigit(b[j]);
            if (da && db)
            {
                int si = i, sj = j;
                while (i < a.Length && char.IsAsciiDigit(a[i])) i++;
                while (j < b.Length && char.IsAsciiDigit(b[j])) j++;
                var na = a.AsSpan(si, i - si).TrimStart('0');
                var nb = b.AsSpan(sj, j - sj).TrimStart('0');
                if (na.Length != nb.Length) return na.Length.CompareTo(nb.Length);
                int c = na.SequenceCompareTo(nb);
                if (c != 0) return c;
                // Equal numbers: fewer leading zeros first keeps the order total and stable.
                c = (i - si).CompareTo(j - sj);
                if (c != 0) return c;
            }
            else if (da != db)
            {
                // Python compares int to str only by erroring; digits first is the common, harmless choice.
                return da ? -1 : 1;
            }
            else
            {
                int c = a[i].CompareTo(b[j]);
                if (c != 0) return c;
                i++;
                j++;
            }
        }
        return (a.Length - i).CompareTo(b.Length - j);
    }
}
