using Backprop.Distributed;

namespace Backprop.Cli.Commands;

/// <summary>What <c>--distributed</c> needs before training: MPI started under mpirun, and a clear error otherwise.</summary>
internal static class DistributedRun
{
    public static MpiCommunicator Start()
    {
        if (!MpiCommunicator.LaunchedByMpirun)
            throw new CliUsageException("--distributed needs mpirun: start the job as 'mpirun -np N backprop train … --distributed' (Open MPI; as root add --allow-run-as-root).");
        return MpiCommunicator.Initialize();
    }
}
