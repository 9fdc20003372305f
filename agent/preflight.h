#ifndef PERFWIRE_AGENT_PREFLIGHT_H_
#define PERFWIRE_AGENT_PREFLIGHT_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace perfwire {

// Checks what the BPF counters cannot run without, before touching BPF, so
// the user gets one line naming the missing piece: privileges (root, or
// CAP_BPF + CAP_PERFMON, or CAP_SYS_ADMIN) and kernel BTF. perfwired
// refuses to run on a failure only with --require_bpf; otherwise it warns
// and the threads source falls back to /proc. Reads the agent's own
// /proc/self/status (the real /proc, whatever --proc_root).
absl::Status CheckPrivilegesAndKernel(
    const std::string& btf_path = "/sys/kernel/btf/vmlinux");

// True if the CapEff mask (from /proc/self/status) allows loading tracing BPF.
bool CapabilitiesAllowBpf(uint64_t cap_eff);

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_PREFLIGHT_H_
