#ifndef PERFWIRE_AGENT_HOST_HOST_FLAGS_H_
#define PERFWIRE_AGENT_HOST_HOST_FLAGS_H_

#include "agent/host/host_options.h"

namespace perfwire {

// HostOptions from the command-line flags --proc_root, --sys_root,
// --include_loopback, --include_virtual_disks, --fd_top_count,
// --perf_per_thread_ipc (defined in agent/host/host_flags.cc; only the
// perfwired binary links them).
HostOptions HostOptionsFromFlags();

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_HOST_HOST_FLAGS_H_
