// Command-line flags of the app_metrics source. In its own file so that only
// binaries calling AppMetricsOptionsFromFlags() (perfwired) link absl::flags.

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/app_metrics/app_metrics_source.h"
#include "base/command_line.h"

namespace perfwire {

// --app_signed_gauge: "set" or "delta".
struct SignedGaugeFlag {
  SignedGauge value = SignedGauge::kSet;
};

bool AbslParseFlag(absl::string_view text, SignedGaugeFlag* flag,
                   std::string* error) {
  if (text == "set") {
    flag->value = SignedGauge::kSet;
  } else if (text == "delta") {
    flag->value = SignedGauge::kDelta;
  } else {
    *error = "want set or delta";
    return false;
  }
  return true;
}

std::string AbslUnparseFlag(SignedGaugeFlag flag) {
  return flag.value == SignedGauge::kSet ? "set" : "delta";
}

}  // namespace perfwire

ABSL_FLAG(std::string, app_socket, "/run/perfwire/app.sock",
          "Unix datagram socket for StatsD/DogStatsD app metrics (empty: off)");
ABSL_FLAG(perfwire::FileMode, app_socket_mode, perfwire::FileMode{0666},
          "permissions of --app_socket; 0666 lets unprivileged apps send "
          "(input is untrusted and bounded; SO_PASSCRED stamps the real pid)");
ABSL_FLAG(bool, statsd_udp, false,
          "also accept plain StatsD over UDP on --statsd_udp_address");
ABSL_FLAG(std::string, statsd_udp_address, "127.0.0.1:8125",
          "loopback ipv4:port for --statsd_udp (non-loopback is refused)");
ABSL_FLAG(uint32_t, app_max_datagram_bytes, 8192,
          "longer app-metric datagrams are dropped whole and counted");
ABSL_FLAG(uint32_t, app_max_series, 10000,
          "distinct app series per interval (gauges carry over); lines for "
          "more are dropped and counted");
ABSL_FLAG(uint32_t, app_sender_share_percent, 25,
          "one sender (a process; a UDP source address) may hold at most "
          "this percent of --app_max_series and of --app_max_memory_bytes, "
          "so it cannot lock other senders out (1-100; 100: no per-sender "
          "limit); lines beyond it are dropped and counted per sender");
ABSL_FLAG(perfwire::SignedGaugeFlag, app_signed_gauge, {},
          "what a gauge value with a sign means: set (\"-7|g\" sets -7, as "
          "DogStatsD, hot-shots, aiodogstatsd, go-statsd-client) or delta "
          "(\"-7|g\" subtracts 7, \"+3|g\" adds 3, as etsy StatsD)");
ABSL_FLAG(uint64_t, app_max_memory_bytes, uint64_t{64} << 20,
          "worst-case memory of all app series; lines for new series beyond "
          "it are dropped and counted");
ABSL_FLAG(absl::Duration, app_gauge_ttl, absl::Minutes(10),
          "an app gauge not updated for this long stops being reported");
ABSL_FLAG(uint32_t, app_read_budget, 1024,
          "datagrams read per wakeup at most (also capped at 2ms), so a "
          "flood cannot delay the collector");

namespace perfwire {

AppMetricsSourceOptions AppMetricsOptionsFromFlags() {
  AppMetricsSourceOptions o;
  o.unix_path = absl::GetFlag(FLAGS_app_socket);
  o.unix_mode = absl::GetFlag(FLAGS_app_socket_mode).bits;
  if (absl::GetFlag(FLAGS_statsd_udp))
    o.udp_address = absl::GetFlag(FLAGS_statsd_udp_address);
  o.max_datagram_bytes =
      std::max<uint32_t>(absl::GetFlag(FLAGS_app_max_datagram_bytes), 64);
  o.budget_datagrams =
      std::max<uint32_t>(absl::GetFlag(FLAGS_app_read_budget), 1);
  o.limits.max_series = absl::GetFlag(FLAGS_app_max_series);
  o.limits.max_memory_bytes = absl::GetFlag(FLAGS_app_max_memory_bytes);
  o.limits.sender_share_percent = std::clamp<uint32_t>(
      absl::GetFlag(FLAGS_app_sender_share_percent), 1, 100);
  o.limits.signed_gauge = absl::GetFlag(FLAGS_app_signed_gauge).value;
  o.limits.gauge_ttl_ns = static_cast<uint64_t>(
      absl::ToInt64Nanoseconds(absl::GetFlag(FLAGS_app_gauge_ttl)));
  return o;
}

}  // namespace perfwire
