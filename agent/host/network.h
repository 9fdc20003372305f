#ifndef PERFWIRE_AGENT_HOST_NETWORK_H_
#define PERFWIRE_AGENT_HOST_NETWORK_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/host/host_options.h"
#include "agent/host/sock_diag.h"
#include "agent/kernelfs/kernel_fs.h"
#include "agent/source.h"

namespace perfwire {

// One interface line of /proc/net/dev (cumulative counters).
struct InterfaceStat {
  std::string name;
  uint64_t rx_bytes = 0, rx_packets = 0, rx_errors = 0, rx_drops = 0;
  uint64_t tx_bytes = 0, tx_packets = 0, tx_errors = 0, tx_drops = 0;
};
// Parses /proc/net/dev (two header lines, then "name: 8 rx + 8 tx numbers").
// InvalidArgument when the header is missing or an interface line is malformed.
absl::Status ParseNetDev(absl::string_view text,
                         std::vector<InterfaceStat>& out);

// Adds the sockets of one /proc/net/tcp or tcp6 file to `counts` (the "st"
// column, hex). InvalidArgument when the header is missing.
absl::Status CountTcpStates(absl::string_view text, TcpStateCounts& counts);
// Number of socket lines in /proc/net/udp or udp6 (lines after the header).
absl::Status CountSocketLines(absl::string_view text, uint32_t& count);

// The "network" source: per interface rates and socket counts, in the
// agent's network namespace. TCP states come from sock_diag netlink when
// proc_root is /proc (cheap), else from <proc_root>/net/tcp{,6} (an injected
// root, e.g. /proc/<pid> of a process in another namespace, or a fixture).
class NetworkSource : public Source {
 public:
  explicit NetworkSource(HostOptions options);
  absl::Status Start() override;
  void Collect(flatbuffers::FlatBufferBuilder& fbb,
               FrameSections& sections) override;
  SourceStatus status() const override { return status_; }

 private:
  HostOptions options_;
  KernelFs fs_;  // rooted at options_.proc_root, options_.sys_root
  SourceStatus status_;
  std::string buf_;
  std::vector<InterfaceStat> prev_, cur_;
  uint64_t prev_ns_ = 0;
  bool sockets_ = true;   // socket counts available
  bool netlink_ = false;  // TCP states through sock_diag
  TcpStateCounter tcp_counter_;
  absl::Time sockets_read_at_ = absl::InfinitePast();
  TcpStateCounts tcp_cache_{};
  uint32_t udp_cache_ = 0;
};

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_HOST_NETWORK_H_
