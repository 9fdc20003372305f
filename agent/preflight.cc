#include "agent/preflight.h"

#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace perfwire {
namespace {

constexpr int kCapSysAdmin = 21;
constexpr int kCapPerfmon = 38;
constexpr int kCapBpf = 39;

uint64_t ReadCapEff() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view v(line);
    if (absl::ConsumePrefix(&v, "CapEff:")) {
      uint64_t mask = 0;
      if (absl::SimpleHexAtoi(absl::StripAsciiWhitespace(v), &mask))
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
