#ifndef PERFWIRE_AGENT_HOST_HOST_SOURCES_H_
#define PERFWIRE_AGENT_HOST_HOST_SOURCES_H_

#include <memory>
#include <vector>

#include "agent/host/host_options.h"
#include "agent/source.h"

namespace perfwire {

// Appends the host-wide sources, each failing alone: cpu, memory, disks,
// filesystems, network, processes, perf.software, perf.hardware, gpu.
void AddHostSources(const HostOptions& options,
                    std::vector<std::unique_ptr<Source>>& sources);

// HostOptions from the command-line flags --proc_root, --sys_root,
// --include_loopback, --include_virtual_disks, --fd_top_count,
// --perf_per_thread_ipc (defined in agent/host/host_flags.cc; only the
// perfwired binary links them).
HostOptions HostOptionsFromFlags();

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_HOST_HOST_SOURCES_H_
