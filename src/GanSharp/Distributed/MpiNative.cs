using System.Runtime.InteropServices;

namespace GanSharp.Distributed;

/// <summary>
/// The few MPI calls data-parallel training needs, bound by P/Invoke to Open MPI's libmpi.so.40 (Debian's openmpi-bin /
/// libopenmpi-dev, Open MPI 4.1). Why not the MPI.NET NuGet package (1.4.0): tried here, it binds MS-MPI only
/// (<c>msmpi.dll</c>) and uses MS-MPI's integer handles, while Open MPI's handles are addresses of global symbols
/// (<c>ompi_mpi_comm_world</c>, <c>ompi_mpi_float</c>, <c>ompi_mpi_op_sum</c>), so it fails at its first call on Linux.
/// The library is loaded only when a process runs under mpirun, so single-process runs never need MPI installed.
/// </summary>
internal static unsafe class MpiNative
{
    private const string Lib = "libmpi.so.40";

    /// <summary>MPI_THREAD_SERIALIZED in Open MPI's numbering: the watchdog may abort from its own thread.</summary>
    public const int ThreadSerialized = 2;

    /// <summary>Open MPI's MPI_IN_PLACE: ((void *) 1).</summary>
    public static readonly IntPtr InPlace = 1;

    [DllImport(Lib)]
    public static extern int MPI_Init_thread(IntPtr argc, IntPtr argv, int required, out int provided);

    [DllImport(Lib)]
    public static extern int MPI_Initialized(out int flag);

    [DllImport(Lib)]
    public static extern int MPI_Finalize();

    [DllImport(Lib)]
    public static extern int MPI_Comm_rank(IntPtr comm, out int rank);

    [DllImport(Lib)]
    public static extern int MPI_Comm_size(IntPtr comm, out int size);

    [DllImport(Lib)]
    public static extern int MPI_Allreduce(IntPtr sendbuf, IntPtr recvbuf, int count, IntPtr datatype, IntPtr op, IntPtr comm);

    /// <summary>A nonblocking allreduce; <paramref name="request"/> is Open MPI's request pointer, completed by Testall/Waitall.</summary>
    [DllImport(Lib)]
    public static extern int MPI_Iallreduce(IntPtr sendbuf, IntPtr recvbuf, int count, IntPtr datatype, IntPtr op, IntPtr comm,
        out IntPtr request);

    /// <summary>Pass <see cref="IntPtr.Zero"/> for the statuses (MPI_STATUSES_IGNORE is a null pointer in Open MPI).</summary>
    [DllImport(Lib)]
    public static extern int MPI_Testall(int count, [In, Out] IntPtr[] requests, out int flag, IntPtr statuses);

    [DllImport(Lib)]
    public static extern int MPI_Waitall(int count, [In, Out] IntPtr[] requests, IntPtr statuses);

    [DllImport(Lib)]
    public static extern int MPI_Allgather(IntPtr sendbuf, int sendcount, IntPtr sendtype, IntPtr recvbuf, int recvcount, IntPtr recvtype,
        IntPtr comm);

    [DllImport(Lib)]
    public static extern int MPI_Bcast(IntPtr buffer, int count, IntPtr datatype, int root, IntPtr comm);

    [DllImport(Lib)]
    public static extern int MPI_Barrier(IntPtr comm);

    [DllImport(Lib)]
    public static extern int MPI_Abort(IntPtr comm, int errorcode);

    /// <summary>The handles, read as the addresses of Open MPI's predefined objects.</summary>
    public sealed class Handles
    {
        public Handles()
        {
            var lib = NativeLibrary.Load(Lib);
            CommWorld = NativeLibrary.GetExport(lib, "ompi_mpi_comm_world");
            Float = NativeLibrary.GetExport(lib, "ompi_mpi_float");
            Double = NativeLibrary.GetExport(lib, "ompi_mpi_double");
            Byte = NativeLibrary.GetExport(lib, "ompi_mpi_byte");
            Sum = NativeLibrary.GetExport(lib, "ompi_mpi_op_sum");
            Max = NativeLibrary.GetExport(lib, "ompi_mpi_op_max");
        }

        public IntPtr CommWorld { get; }

        public IntPtr Float { get; }

        public IntPtr Double { get; }

        public IntPtr Byte { get; }

        public IntPtr Sum { get; }

        public IntPtr Max { get; }
    }
}
