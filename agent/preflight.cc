#include "agent/preflight.h"

#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "agent/kernelfs/kernel_fs.h"
#include "agent/kernelfs/numbers.h"
#include "agent/kernelfs/splitters.h"

namespace perfwire {
namespace {

constexpr int kCapSysAdmin = 21;
constexpr int kCapPerfmon = 38;
constexpr int kCapBpf = 39;

// The agent's own capabilities: always the real /proc, whatever --proc_root.
uint64_t ReadCapEff() {
  std::string status;
  if (!KernelFs().ReadProc("/self/status", status).ok()) return 0;
  LineSplitter lines(status);
  absl::string_view line;
  while (lines.Next(line)) {
    FieldSplitter f(line);
    absl::string_view key, value;
    uint64_t mask = 0;
    if (f.Next(key) && key == "CapEff:" && f.Next(value) &&
        ParseHexU64(value, mask)) {
      return mask;
    }
  }
  return 0;
}

}  // namespace

bool CapabilitiesAllowBpf(uint64_t cap_eff) {
  auto has = [cap_eff](int cap) { return (cap_eff >> cap) & 1; };
  return has(kCapSysAdmin) || (has(kCapBpf) && has(kCapPerfmon));
}

absl::Status CheckPrivilegesAndKernel(const std::string& btf_path) {
  if (geteuid() != 0 && !CapabilitiesAllowBpf(ReadCapEff())) {
    return absl::PermissionDeniedError(absl::StrCat(
        "perfwired needs root or CAP_BPF + CAP_PERFMON (running as uid ",
        geteuid(), " without them); try: sudo perfwired"));
  }
  if (access(btf_path.c_str(), R_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "kernel BTF not found at ", btf_path,
        ": perfwire needs Linux >= 5.8 built with CONFIG_DEBUG_INFO_BTF=y"));
  }
  return absl::OkStatus();
}

}  // namespace perfwire
