using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace GanSharp.Interop;

/// <summary>A Python global that a pickle names (module and attribute).</summary>
internal sealed record PickleGlobal(string Module, string Name)
{
    public override string ToString() => Module + "." + Name;
}

/// <summary>A tuple from a pickle (Python tuples are immutable, unlike lists).</summary>
internal sealed class PickleTuple(object?[] items)
{
    public object?[] Items { get; } = items;
    public int Count => Items.Length;
    public object? this[int i] => Items[i];
}

/// <summary>
/// A restricted pickle virtual machine: it builds dicts, lists, tuples, numbers and strings, and hands every GLOBAL
/// and REDUCE to the caller, which decides which few callables are allowed (see <see cref="PthReader"/>).
/// Hand-written because the served pickle library (Razorvine.Pickle) turns unknown globals into dictionaries through a
/// process-wide constructor registry instead of refusing them, and a checkpoint must never be able to ask for code.
/// </summary>
internal sealed class PickleReader
{
    private readonly Stream _s;
    private readonly Func<PickleGlobal, object> _resolveGlobal;
    private readonly Func<object, object?[], object?> _call;
    private readonly Func<object?, object?> _persistentLoad;
    private readonly Action<object, object?> _build;
    private readonly string _file;
    private readonly long _limit;
    private long _read;

    public PickleReader(
        Stream s,
        string file,
        long limit,
        Func<PickleGlobal, object> resolveGlobal,
        Func<object, object?[], object?> call,
        Func<object?, object?> persistentLoad,
        Action<object, object?> build)
    {
        _s = s;
        _file = file;
        // Bytes the pickle can have at most (what is left of the file): every length field read from it is checked
        // against this before anything is allocated.
        _limit = limit;
        _resolveGlobal = resolveGlobal;
        _call = call;
        _persistentLoad = persistentLoad;
        _build = build;
    }

    private static readonly object Mark = new();

    public object? Load()
    {
        var stack = new List<object?>();
        var memo = new Dictionary<long, object?>();
        var marks = new Stack<int>();
        while (true)
        {
            int op = _s.ReadByte();
            if (op < 0) throw Bad("the pickle ends before its STOP opcode");
            _read++;
            if (op == 0x2e) return Pop(stack); // STOP
            byte code = (byte)op;
            bool known = Control(code, stack, marks) || PushLiteral(code, stack) || Collect(code, stack, marks) || Memo(code, stack, memo)
                || Objects(code, stack);
            if (!known) throw Bad($"it uses pickle opcode 0x{op:x2}, which a PyTorch state dict never needs");
        }
    }

    // Protocol, framing and marks.
    private bool Control(byte op, List<object?> stack, Stack<int> marks)
    {
        switch (op)
        {
            case 0x80: ReadByte(); break; // PROTO
            case 0x95: ReadBytes(8); break; // FRAME: frames are only a buffering hint
            case 0x28: marks.Push(stack.Count); break; // MARK
            default:
                return false;
        }
        return true;
    }

    // Constants: None, booleans, numbers, strings, bytes and empty containers.
    private bool PushLiteral(byte op, List<object?> stack)
    {
        switch (op)
        {
            case 0x4e: stack.Add(null); break; // NONE
            case 0x88: stack.Add(true); break;
            case 0x89: stack.Add(false); break;
            case 0x4a: stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4))); break; // BININT
            case 0x4b: stack.Add((long)ReadByte()); break; // BININT1
            case 0x4d: stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(2))); break; // BININT2
            case 0x8a: stack.Add(ReadLong(ReadByte())); break; // LONG1
            case 0x8b: stack.Add(ReadLong(BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4)))); break; // LONG4
            case 0x47: stack.Add(BinaryPrimitives.ReadDoubleBigEndian(ReadBytes(8))); break; // BINFLOAT
            case 0x49: stack.Add(ParseIntLine(ReadLine())); break; // INT
            case 0x4c: stack.Add(ParseIntLine(ReadLine().TrimEnd('L'))); break; // LONG
            case 0x46: stack.Add(ParseFloatLine(ReadLine())); break; // FLOAT
            case 0x58: stack.Add(Encoding.UTF8.GetString(ReadBytes(BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4))))); break; // BINUNICODE
            case 0x8c: stack.Add(Encoding.UTF8.GetString(ReadBytes(ReadByte()))); break; // SHORT_BINUNICODE
            case 0x8d: stack.Add(Encoding.UTF8.GetString(ReadBytes(BinaryPrimitives.ReadInt64LittleEndian(ReadBytes(8))))); break; // BINUNICODE8
            case 0x54: stack.Add(Encoding.Latin1.GetString(ReadBytes(BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4))))); break; // BINSTRING
            case 0x55: stack.Add(Encoding.Latin1.GetString(ReadBytes(ReadByte()))); break; // SHORT_BINSTRING
            case 0x42: stack.Add(ReadBytes(BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4)))); break; // BINBYTES
            case 0x43: stack.Add(ReadBytes(ReadByte())); break; // SHORT_BINBYTES
            case 0x7d: stack.Add(new Dictionary<object, object?>()); break; // EMPTY_DICT
            case 0x5d: stack.Add(new List<object?>()); break; // EMPTY_LIST
            case 0x29: stack.Add(new PickleTuple([])); break; // EMPTY_TUPLE
            default:
                return false;
        }
        return true;
    }

    // Tuples, lists and dicts built from the stack.
    private bool Collect(byte op, List<object?> stack, Stack<int> marks)
    {
        switch (op)
        {
            case 0x85: { var a = Pop(stack); stack.Add(new PickleTuple([a])); break; } // TUPLE1
            case 0x86: { var b = Pop(stack); var a = Pop(stack); stack.Add(new PickleTuple([a, b])); break; }
            case 0x87: { var c = Pop(stack); var b = Pop(stack); var a = Pop(stack); stack.Add(new PickleTuple([a, b, c])); break; }
            case 0x74: stack.Add(new PickleTuple(PopMark(stack, marks).ToArray())); break; // TUPLE
            case 0x6c: stack.Add(PopMark(stack, marks)); break; // LIST
            case 0x64: // DICT
                {
                    var items = PopMark(stack, marks);
                    var d = new Dictionary<object, object?>();
                    for (int i = 0; i + 1 < items.Count; i += 2) d[Key(items[i])] = items[i + 1];
                    stack.Add(d);
                    break;
                }
            case 0x61: { var v = Pop(stack); AppendTo(Top(stack), [v]); break; } // APPEND
            case 0x65: { var items = PopMark(stack, marks); AppendTo(Top(stack), items); break; } // APPENDS
            case 0x73: { var v = Pop(stack); var k = Pop(stack); SetItem(Top(stack), k, v); break; } // SETITEM
            case 0x75: // SETITEMS
                {
                    var items = PopMark(stack, marks);
                    var target = Top(stack);
                    for (int i = 0; i + 1 < items.Count; i += 2) SetItem(target, items[i], items[i + 1]);
                    break;
                }
            default:
                return false;
        }
        return true;
    }

    // The memo: objects stored once and referenced again.
    private bool Memo(byte op, List<object?> stack, Dictionary<long, object?> memo)
    {
        switch (op)
        {
            case 0x71: memo[ReadByte()] = Top(stack); break; // BINPUT
            case 0x72: memo[BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))] = Top(stack); break; // LONG_BINPUT
            case 0x94: memo[memo.Count] = Top(stack); break; // MEMOIZE
            case 0x70: memo[ParseMemoLine(ReadLine())] = Top(stack); break; // PUT
            case 0x68: stack.Add(MemoGet(memo, ReadByte())); break; // BINGET
            case 0x6a: stack.Add(MemoGet(memo, BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)))); break; // LONG_BINGET
            case 0x67: stack.Add(MemoGet(memo, ParseMemoLine(ReadLine()))); break; // GET
            default:
                return false;
        }
        return true;
    }

    // Globals, calls, object state and persistent ids: the only opcodes that reach the caller's resolvers.
    private bool Objects(byte op, List<object?> stack)
    {
        switch (op)
        {
            case 0x63: // GLOBAL
                {
                    string module = ReadLine();
                    string name = ReadLine();
                    stack.Add(_resolveGlobal(new PickleGlobal(module, name)));
                    break;
                }
            case 0x93: // STACK_GLOBAL
                {
                    var name = Pop(stack) as string ?? throw Bad("STACK_GLOBAL without a string name");
                    var module = Pop(stack) as string ?? throw Bad("STACK_GLOBAL without a string module");
                    stack.Add(_resolveGlobal(new PickleGlobal(module, name)));
                    break;
                }
            case 0x52: // REDUCE
                {
                    var args = Pop(stack) as PickleTuple ?? throw Bad("REDUCE without an argument tuple");
                    var fn = Pop(stack) ?? throw Bad("REDUCE of None");
                    stack.Add(_call(fn, args.Items));
                    break;
                }
            case 0x81: // NEWOBJ
                {
                    var args = Pop(stack) as PickleTuple ?? throw Bad("NEWOBJ without an argument tuple");
                    var cls = Pop(stack) ?? throw Bad("NEWOBJ of None");
                    stack.Add(_call(cls, args.Items));
                    break;
                }
            case 0x62: { var state = Pop(stack); _build(Top(stack) ?? throw Bad("BUILD on None"), state); break; } // BUILD
            case 0x51: stack.Add(_persistentLoad(Pop(stack))); break; // BINPERSID
            case 0x50: stack.Add(_persistentLoad(ReadLine())); break; // PERSID
            default:
                return false;
        }
        return true;
    }

    private GanSharpException Bad(string why) => PthReader.Damaged(_file, why);

    private object Key(object? k) => k ?? throw Bad("a dictionary has None as a key");

    private void SetItem(object? target, object? k, object? v)
    {
        if (target is Dictionary<object, object?> d) d[Key(k)] = v;
        else if (target is OrderedDict od) od.Set(Key(k), v);
        else throw Bad("SETITEM on something that is not a dict");
    }

    private void AppendTo(object? target, IEnumerable<object?> items)
    {
        if (target is List<object?> l) l.AddRange(items);
        else throw Bad("APPEND on something that is not a list");
    }

    private object? MemoGet(Dictionary<long, object?> memo, long key) =>
        memo.TryGetValue(key, out var v) ? v : throw Bad($"memo slot {key} is read before it is written");

    private object? Pop(List<object?> stack)
    {
        if (stack.Count == 0) throw Bad("its pickle stack runs empty");
        var v = stack[^1];
        stack.RemoveAt(stack.Count - 1);
        return v;
    }

    private object? Top(List<object?> stack) => stack.Count > 0 ? stack[^1] : throw Bad("its pickle stack runs empty");

    private List<object?> PopMark(List<object?> stack, Stack<int> marks)
    {
        if (marks.Count == 0) throw Bad("a MARK is missing");
        int at = marks.Pop();
        if (at > stack.Count) throw Bad("its pickle stack runs below a MARK");
        var items = stack.GetRange(at, stack.Count - at);
        stack.RemoveRange(at, stack.Count - at);
        return items;
    }

    private int ReadByte()
    {
        int b = _s.ReadByte();
        if (b < 0) throw Bad("the pickle ends in the middle of an opcode");
        _read++;
        return b;
    }

    private byte[] ReadBytes(long n)
    {
        // The length comes from the file: checked against the bytes left before it becomes an allocation.
        if (n < 0 || n > _limit - _read)
            throw Bad($"a pickle length field says {n} bytes, but {Math.Max(0, _limit - _read)} are left");
        var buf = new byte[n];
        int got = _s.ReadAtLeast(buf, buf.Length, throwOnEndOfStream: false);
        _read += got;
        if (got < n) throw Bad("the pickle ends in the middle of an opcode");
        return buf;
    }

    private string ReadLine()
    {
        var sb = new StringBuilder();
        int b;
        while ((b = ReadByte()) != '\n') sb.Append((char)b);
        return sb.ToString();
    }

    private object ParseIntLine(string s) => s switch
    {
        "00" => false,
        "01" => true,
        _ => long.TryParse(s, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out long v)
            ? v
            : BigInteger.TryParse(s, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture,
                out var big)
                ? big
                : throw Bad($"the integer '{Clip(s)}' is not a number"),
    };

    private double ParseFloatLine(string s) =>
        double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double v)
            ? v
            : throw Bad($"the float '{Clip(s)}' is not a number");

    private long ParseMemoLine(string s) =>
        long.TryParse(s, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long v)
            ? v
            : throw Bad($"the memo index '{Clip(s)}' is not a number");

    private static string Clip(string s) => s.Length <= 20 ? s : s[..20] + "...";

    private object ReadLong(int n)
    {
        if (n == 0) return 0L;
        var bytes = ReadBytes(n);
        var big = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
        return big >= long.MinValue && big <= long.MaxValue ? (long)big : big;
    }
}

/// <summary>Python's OrderedDict as read from a pickle: insertion-ordered keys, plus attributes set by BUILD.</summary>
internal sealed class OrderedDict
{
    private readonly List<object> _keys = [];
    private readonly Dictionary<object, object?> _values = [];

    public IReadOnlyList<object> Keys => _keys;
    public object? this[object key] => _values[key];
    public int Count => _keys.Count;
    public Dictionary<string, object?> Attributes { get; } = [];

    public void Set(object key, object? value)
    {
        if (!_values.ContainsKey(key)) _keys.Add(key);
        _values[key] = value;
    }

    public bool TryGetValue(object key, out object? value) => _values.TryGetValue(key, out value);
}
