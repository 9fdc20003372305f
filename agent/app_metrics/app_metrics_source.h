#ifndef PERFWIRE_AGENT_APP_METRICS_APP_METRICS_SOURCE_H_
#define PERFWIRE_AGENT_APP_METRICS_APP_METRICS_SOURCE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/app_metrics/app_aggregator.h"
#include "agent/app_metrics/statsd_parser.h"
#include "agent/source.h"
#include "base/unique_fd.h"
#include "base/unix_socket.h"

namespace perfwire {

struct AppMetricsSourceOptions {
  // Unix datagram socket; empty: none. The parent directory is created
  // (0755) if missing; a stale socket is replaced, a live one is an error.
  std::string unix_path = "/run/perfwire/app.sock";
  uint32_t unix_mode = 0666;
  // "ip:port" on a loopback address (127.0.0.0/8) for plain StatsD over UDP;
  // empty: none. Non-loopback addresses are refused: the agent is privileged.
  std::string udp_address;
  // Longer datagrams are dropped whole and counted.
  size_t max_datagram_bytes = 8192;
  // Per OnWakeup()/Collect(): stop after this many datagrams or this long,
  // so a flood cannot delay the collector; the rest waits in the kernel queue.
  uint32_t budget_datagrams = 1024;
  uint64_t budget_ns = 2000000;
  int receive_buffer_bytes = 4 << 20;
  AppAggregatorLimits limits;
  // perfwired --proc_root: where net.unix.max_dgram_qlen is read.
  std::string proc_root = "/proc";
};

// The "app_metrics" source: StatsD / DogStatsD datagrams from applications,
// aggregated per interval into Frame.app_metrics, with the source's health in
// AgentStats.app_metrics. Needs no thread: the collector calls OnWakeup()
// when a socket is readable (wakeup_fd() is an epoll fd over the sockets).
// On the Unix socket SO_PASSCRED gives each datagram its sender's pid.
class AppMetricsSource : public Source {
 public:
  explicit AppMetricsSource(AppMetricsSourceOptions options);
  // Stops (removes the socket file it created), so an agent that gives up
  // after its sources started leaves nothing behind.
  ~AppMetricsSource() override;
  absl::Status Start() override;
  void Collect(flatbuffers::FlatBufferBuilder& fbb,
               FrameSections& sections) override;
  void Stop() override;
  SourceStatus status() const override { return status_; }
  int wakeup_fd() const override { return epoll_.get(); }
  void OnWakeup() override;

  // What each received datagram goes through (also used by tests):
  // split into lines, parse, aggregate under `pid` (0: unknown) for the
  // sender `sender` (AppSenderKeyForUdp, or the pid).
  void IngestDatagram(std::string_view datagram, uint32_t pid, uint64_t sender);
  void IngestDatagram(std::string_view datagram, uint32_t pid) {
    IngestDatagram(datagram, pid, pid);
  }

 private:
  absl::Status OpenUnixSocket();
  absl::Status OpenUdpSocket();
  void Drain();
  // Datagrams the kernel dropped on our sockets since the last call
  // (SO_MEMINFO's SK_MEMINFO_DROPS).
  uint64_t TakeKernelDrops();

  AppMetricsSourceOptions options_;
  SourceStatus status_;
  AppAggregator aggregator_;
  BoundUnixSocket unix_socket_;
  UniqueFd udp_fd_;
  UniqueFd epoll_;
  uint32_t kernel_drops_seen_[2] = {0, 0};  // SK_MEMINFO_DROPS: unix, udp
  std::vector<char> buffer_;
  StatsdLine line_;  // reused across lines

  // This interval's counters (AgentStats.app_metrics).
  uint64_t datagram_count_ = 0;
  uint64_t line_count_ = 0;
  uint64_t malformed_line_count_ = 0;
  uint64_t oversize_datagram_count_ = 0;
  uint64_t budget_exhausted_count_ = 0;
  std::string malformed_line_sample_;
};

// Options from the command-line flags --app_socket, --app_socket_mode,
// --statsd_udp, --statsd_udp_address, --app_max_datagram_bytes,
// --app_max_series, --app_sender_share_percent, --app_max_memory_bytes,
// --app_gauge_ttl, --app_signed_gauge, --app_read_budget
// (agent/app_metrics/app_metrics_flags.cc; only perfwired links them).
AppMetricsSourceOptions AppMetricsOptionsFromFlags();

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_APP_METRICS_APP_METRICS_SOURCE_H_
