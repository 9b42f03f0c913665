using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace GanSharp.Kernels;

/// <summary>
/// One Adam update of many parameter tensors in a single pass over each: read p, g, m, v, write p, m, v.
/// </summary>
/// <remarks>
/// Written by hand because neither TorchSharp nor libtorch's C API offers a fused CPU Adam: TorchSharp's step runs
/// eight tensor operations per parameter (mul_, add_, mul_, addcmul_, sqrt, div, add_, addcdiv_), about twenty passes
/// over memory and two full-size temporaries; at crop 128 that was 7 % of a SPADE iteration for G's 30 M parameters.
/// The arithmetic keeps TorchSharp's order of operations, each rounded to float as libtorch's float kernels do, so the
/// update agrees with it to a few units in the last place (libtorch's vector kernels use fused multiply-adds in places).
/// Every element is independent, so how the threads share the work cannot change a result.
/// </remarks>
internal static unsafe class AdamKernel
{
    /// <summary>One parameter tensor's operands and its group's constants (contiguous float32, n elements each).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Item
    {
        public float* P, G, M, V;
        public long N;
        public float Beta1, OneMinusBeta1, Beta2, OneMinusBeta2, WeightDecay, SqrtBiasCorrection2, Eps, NegStepSize;
    }

    private struct Job
    {
        public Item* Items;
        public int Count, Threads;
        public long Total;
    }

    // Below this many elements per thread a parallel region costs more than it saves.
    private const long MinPerThread = 1 << 16;

    /// <summary>Updates every item; the OpenMP threads libtorch uses take fixed shares of all elements.</summary>
    public static void Step(Span<Item> items)
    {
        long total = 0;
        foreach (ref var it in items) total += it.N;
        fixed (Item* p = items)
        {
            var job = new Job { Items = p, Count = items.Length, Total = total, Threads = OneDnnGemm.ThreadsFor(total, MinPerThread) };
            OneDnnGemm.InParallel(&Body, &job, job.Threads);
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void Body(void* data)
    {
        var job = (Job*)data;
        int id = job->Threads == 1 ? 0 : OneDnnGemm.OmpThreadNum();
        if (id >= job->Threads) return;
        // Shares of the concatenated elements, 16-aligned so no two threads write one cache line.
        long share = (job->Total / job->Threads + 15) & ~15L;
        long from = Math.Min(job->Total, id * share), to = id == job->Threads - 1 ? job->Total : Math.Min(job->Total, from + share);
        long start = 0;
        for (int i = 0; i < job->Count && start < to; i++)
        {
            ref var it = ref job->Items[i];
            long end = start + it.N;
            long a = Math.Max(from, start), b = Math.Min(to, end);
            if (a < b) Update(ref it, a - start, b - start);
            start = end;
        }
    }

    private static void Update(ref Item it, long from, long to)
    {
        float* p = it.P, g = it.G, m = it.M, v = it.V;
        float b1 = it.Beta1, a1 = it.OneMinusBeta1, b2 = it.Beta2, a2 = it.OneMinusBeta2, wd = it.WeightDecay;
        float bc = it.SqrtBiasCorrection2, eps = it.Eps, step = it.NegStepSize;
        long i = from;
        if (Vector512.IsHardwareAccelerated)
        {
            var vb1 = Vector512.Create(b1); var va1 = Vector512.Create(a1); var vb2 = Vector512.Create(b2);
            var va2 = Vector512.Create(a2); var vwd = Vector512.Create(wd); var vbc = Vector512.Create(bc);
            var veps = Vector512.Create(eps); var vstep = Vector512.Create(step);
            for (; i + 16 <= to; i += 16)
            {
                var pp = Vector512.Load(p + i);
                var gg = Vector512.Load(g + i);
                if (wd != 0) gg += vwd * pp;
                var mm = Vector512.Load(m + i) * vb1 + va1 * gg;
                var vv = Vector512.Load(v + i) * vb2 + va2 * gg * gg;
                var denom = Vector512.Sqrt(vv) / vbc + veps;
                (pp + vstep * (mm / denom)).Store(p + i);
                mm.Store(m + i);
                vv.Store(v + i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var vb1 = Vector256.Create(b1); var va1 = Vector256.Create(a1); var vb2 = Vector256.Create(b2);
            var va2 = Vector256.Create(a2); var vwd = Vector256.Create(wd); var vbc = Vector256.Create(bc);
            var veps = Vector256.Create(eps); var vstep = Vector256.Create(step);
            for (; i + 8 <= to; i += 8)
            {
                var pp = Vector256.Load(p + i);
                var gg = Vector256.Load(g + i);
                if (wd != 0) gg += vwd * pp;
                var mm = Vector256.Load(m + i) * vb1 + va1 * gg;
                var vv = Vector256.Load(v + i) * vb2 + va2 * gg * gg;
                var denom = Vector256.Sqrt(vv) / vbc + veps;
                (pp + vstep * (mm / denom)).Store(p + i);
                mm.Store(m + i);
                vv.Store(v + i);
            }
        }
        for (; i < to; i++)
        {
            float gg = g[i];
            if (wd != 0) gg += wd * p[i];
            float mm = m[i] * b1 + a1 * gg;
            float vv = v[i] * b2 + a2 * gg * gg;
            float denom = MathF.Sqrt(vv) / bc + eps;
            p[i] += step * (mm / denom);
            m[i] = mm;
            v[i] = vv;
        }
    }
}
