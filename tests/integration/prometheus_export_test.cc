// `perfwire export prometheus` scraped by a real Prometheus server (Debian's
// prometheus package), started here on loopback with a temporary config and
// data directory. The test queries Prometheus's HTTP API and compares the
// series with the kernel's own counts printed by the pingpong workload, keeps
// scrapes up while a process names itself with bytes that are not UTF-8, and
// compares host counters with node_exporter (Debian prometheus-node-exporter)
// scraped at the same moments.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/unique_fd.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"

namespace perfwire::testing {
namespace {

constexpr char kPrometheus[] = "/usr/bin/prometheus";

// GET http://127.0.0.1:port/path; returns the whole response (head and body),
// empty on any error. Bounded by a 5 s timeout.
std::string HttpGet(uint16_t port, const std::string& path) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return "";
  timeval timeout{5, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
      0) {
    return "";
  }
  const std::string request =
      absl::StrCat("GET ", path,
                   " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  if (send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return "";
  }
  std::string response;
  char buf[4096];
  for (;;) {
    const ssize_t n = recv(fd.get(), buf, sizeof(buf), 0);
    if (n <= 0) break;
    response.append(buf, static_cast<size_t>(n));
  }
  return response;
}

// Percent-encodes a PromQL query for a URL.
std::string UrlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      absl::StrAppend(&out, "%", absl::Hex(c, absl::kZeroPad2));
    }
  }
  return out;
}

// The first sample value of an instant-query answer, if any.
std::optional<double> QueryValue(uint16_t port, const std::string& promql) {
  const std::string response =
      HttpGet(port, "/api/v1/query?query=" + UrlEncode(promql));
  const size_t at = response.find("\"value\":[");
  if (at == std::string::npos) return std::nullopt;
  const size_t open = response.find(",\"", at);
  const size_t close = response.find('"', open + 2);
  if (open == std::string::npos || close == std::string::npos) {
    return std::nullopt;
  }
  double value = 0;
  if (!absl::SimpleAtod(response.substr(open + 2, close - open - 2), &value)) {
    return std::nullopt;
  }
  return value;
}

uint16_t FreeLoopbackPort() {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

// Polls `condition` every 250 ms for at most `seconds`.
template <typename F>
bool WaitFor(int seconds, F condition) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return false;
}

// Starts the exporter against `socket`; returns its port (0 on failure).
uint16_t StartExporter(const std::string& socket, std::unique_ptr<Child>& out,
                       const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {
      "export", "prometheus", "--listen=127.0.0.1:0", "--socket=" + socket};
  args.insert(args.end(), extra.begin(), extra.end());
  out = std::make_unique<Child>(std::string(PERFWIRE_BIN_DIR) + "/perfwire",
                                args);
  const std::string line =
      out->ReadLineStartingWith("perfwire export prometheus: serving ");
  const size_t colon = line.rfind(':');
  const size_t slash = line.find('/', colon);
  uint32_t port = 0;
  if (colon == std::string::npos || slash == std::string::npos ||
      !absl::SimpleAtoi(line.substr(colon + 1, slash - colon - 1), &port)) {
    return 0;
  }
  return static_cast<uint16_t>(port);
}

TEST(PrometheusExport, ServesMetricsIndexAnd404) {
  PERFWIRE_REQUIRE_BPF();
  Agent agent;
  ASSERT_TRUE(agent.started()) << agent.error();
  std::unique_ptr<Child> exporter;
  const uint16_t port = StartExporter(agent.socket(), exporter);
  ASSERT_NE(port, 0);
  ASSERT_TRUE(WaitFor(20, [&] {
    // Connected, and frames with host sections have arrived.
    const std::string m = HttpGet(port, "/metrics");
    return absl::StrContains(m, "perfwire_exporter_agent_connected 1") &&
           absl::StrContains(m, "perfwire_host_cpu_seconds_total{");
  }));
  const std::string metrics = HttpGet(port, "/metrics");
  EXPECT_TRUE(absl::StartsWith(metrics, "HTTP/1.1 200 OK\r\n")) << metrics;
  EXPECT_TRUE(absl::StrContains(metrics, "version=0.0.4"));
  EXPECT_TRUE(
      absl::StrContains(metrics, "perfwire_process_cpu_seconds_total{"));
  EXPECT_TRUE(
      absl::StrContains(metrics, "perfwire_host_cpu_seconds_total{cpu=\"0\""));
  EXPECT_FALSE(absl::StrContains(metrics, "cpu=\"all\""));
  EXPECT_FALSE(absl::StrContains(metrics, "_percent"));
  EXPECT_FALSE(absl::StrContains(metrics, "perfwire_thread_"));  // opt-in
  EXPECT_TRUE(absl::StrContains(HttpGet(port, "/"), "/metrics"));
  EXPECT_TRUE(absl::StartsWith(HttpGet(port, "/nope"), "HTTP/1.1 404"));
  exporter->Signal(SIGTERM);
  std::string rest;
  EXPECT_EQ(exporter->Finish(&rest), 0);
}

TEST(PrometheusExport, RefusesNonLoopbackWithoutAllowRemote) {
  Child exporter(
      std::string(PERFWIRE_BIN_DIR) + "/perfwire",
      {"export", "prometheus", "--listen=0.0.0.0:0", "--socket=/nonexistent"});
  std::string out;
  EXPECT_EQ(exporter.Finish(&out), 2);
}

// A real Prometheus on a free loopback port scraping `targets` every second.
class Prometheus {
 public:
  explicit Prometheus(const std::vector<uint16_t>& targets) {
    const std::string config = dir_.path() + "/prometheus.yml";
    {
      std::ofstream out(config);
      out << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
          << "scrape_configs:\n  - job_name: perfwire\n    static_configs:\n"
          << "      - targets: [";
      for (size_t i = 0; i < targets.size(); ++i) {
        out << (i ? ", " : "") << "'127.0.0.1:" << targets[i] << "'";
      }
      out << "]\n";
    }
    port_ = FreeLoopbackPort();
    child_ = std::make_unique<Child>(
        kPrometheus,
        std::vector<std::string>{
            "--config.file=" + config,
            "--storage.tsdb.path=" + dir_.path() + "/data",
            "--web.listen-address=127.0.0.1:" + std::to_string(port_),
            "--log.level=error"});
    ready_ = WaitFor(30, [&] {
      return absl::StartsWith(HttpGet(port_, "/-/ready"), "HTTP/1.1 200");
    });
  }
  ~Prometheus() { child_->Signal(SIGTERM); }
  bool ready() const { return ready_; }
  uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_.path(); }

 private:
  TempDir dir_;
  uint16_t port_ = 0;
  bool ready_ = false;
  std::unique_ptr<Child> child_;
};

// #15.1: a process named "\xff\xfe" (prctl(PR_SET_NAME), no privilege needed)
// made Prometheus reject every scrape ("invalid UTF-8 label value", up=0).
TEST(PrometheusExport, RealPrometheusKeepsScrapingWhenANameIsNotUtf8) {
  PERFWIRE_REQUIRE_BPF();
  PERFWIRE_REQUIRE_PROGRAM(kPrometheus);
  Agent agent;
  ASSERT_TRUE(agent.started()) << agent.error();
  std::unique_ptr<Child> exporter;
  const uint16_t exporter_port =
      StartExporter(agent.socket(), exporter,
                    {"--threads", "--per_pid", "--max_series=1000000"});
  ASSERT_NE(exporter_port, 0);
  Prometheus prometheus({exporter_port});
  ASSERT_TRUE(prometheus.ready()) << "Prometheus did not become ready";
  ASSERT_TRUE(WaitFor(30, [&] {
    return QueryValue(prometheus.port(), "up{job=\"perfwire\"}") == 1.0;
  })) << "Prometheus never scraped the exporter";

  Child badname(WorkloadPath("badname"), {"--ms=4000"});
  const std::string line = badname.ReadLineStartingWith("badname pid=");
  ASSERT_FALSE(line.empty());
  const std::string pid = line.substr(std::string("badname pid=").size());
  // The process is in the exposition with U+FFFD for each bad byte...
  const std::string series =
      absl::StrCat("perfwire_process_cpu_seconds_total{pid=\"", pid,
                   "\",process=\"\xEF\xBF\xBD\xEF\xBF\xBD\"}");
  ASSERT_TRUE(WaitFor(20,
                      [&] {
                        return absl::StrContains(
                            HttpGet(exporter_port, "/metrics"), series);
                      }))
      << "no " << series;
  // ... and Prometheus takes every scrape meanwhile: up stays 1 over the
  // whole time the name was exported, and the series arrived.
  std::string out;
  EXPECT_EQ(badname.Finish(&out), 0);
  std::this_thread::sleep_for(std::chrono::seconds(3));  // two more scrapes
  EXPECT_EQ(
      QueryValue(prometheus.port(), "min_over_time(up{job=\"perfwire\"}[10s])"),
      1.0);
  const std::optional<double> cpu = QueryValue(
      prometheus.port(),
      absl::StrCat("perfwire_process_cpu_seconds_total{pid=\"", pid, "\"}"));
  ASSERT_TRUE(cpu.has_value());
  EXPECT_GT(*cpu, 1.0);  // it spun for 4 s
  std::printf(
      "  pid %s named \\xff\\xfe: up stayed 1, %.2f CPU s in Prometheus\n",
      pid.c_str(), *cpu);
  exporter->Signal(SIGTERM);
  EXPECT_EQ(exporter->Finish(&out), 0);
}

// The process label is the leader's name (tid == pid), not a worker's, and
// by default one series per name: the `team` workload's leader only waits
// while its workers ("team-worker-N") burn the CPU.
TEST(PrometheusExport, RealPrometheusNamesProcessesAfterTheirLeader) {
  PERFWIRE_REQUIRE_BPF();
  PERFWIRE_REQUIRE_PROGRAM(kPrometheus);
  Agent agent;
  ASSERT_TRUE(agent.started()) << agent.error();
  std::unique_ptr<Child> exporter;
  const uint16_t exporter_port = StartExporter(agent.socket(), exporter);
  ASSERT_NE(exporter_port, 0);
  Prometheus prometheus({exporter_port});
  ASSERT_TRUE(prometheus.ready()) << "Prometheus did not become ready";
  ASSERT_TRUE(WaitFor(30, [&] {
    return QueryValue(prometheus.port(), "up{job=\"perfwire\"}") == 1.0;
  })) << "Prometheus never scraped the exporter";
  Child team(WorkloadPath("team"), {"--threads=2", "--ms=3000"});
  ASSERT_FALSE(team.ReadLineStartingWith("team pid=").empty());
  const std::string done = team.ReadLineStartingWith("team cpu_ns=");
  std::string out;
  ASSERT_EQ(team.Finish(&out), 0);
  double truth = 0;
  ASSERT_TRUE(absl::SimpleAtod(done.substr(done.find('=') + 1), &truth))
      << done;
  truth /= 1e9;
  std::optional<double> cpu;
  WaitFor(20, [&] {
    cpu = QueryValue(prometheus.port(),
                     "perfwire_process_cpu_seconds_total{process=\"team-"
                     "leader\"}");
    return cpu.has_value() && *cpu >= 0.98 * truth;
  });
  ASSERT_TRUE(cpu.has_value()) << "no series for process=\"team-leader\"";
  // Everything the process ran (its workers' CPU) is under the leader's name;
  // getrusage is tick-rounded per thread, hence 2% + 20 ms.
  EXPECT_NEAR(*cpu, truth, 0.02 * truth + 0.02);
  EXPECT_EQ(QueryValue(prometheus.port(),
                       "count(perfwire_process_cpu_seconds_total{process=~"
                       "\"team-worker.*\"})"),
            std::nullopt)
      << "a worker's name became a process label";
  const std::string metrics = HttpGet(exporter_port, "/metrics");
  EXPECT_FALSE(absl::StrContains(metrics, "pid=")) << "per-pid is opt-in";
  std::printf(
      "  team: %.3f CPU s under process=\"team-leader\", getrusage %.3f s\n",
      *cpu, truth);
  exporter->Signal(SIGTERM);
  EXPECT_EQ(exporter->Finish(&out), 0);
}

// The value of the sample `name{labels}` (labels exactly as rendered) in a
// /metrics body, or the sum of every sample of `name` whose labels contain
// all of `parts`.
std::optional<double> SumSamples(const std::string& metrics,
                                 const std::string& name,
                                 const std::vector<std::string>& parts) {
  std::optional<double> sum;
  std::istringstream lines(metrics);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + "{", 0) != 0 && line.rfind(name + " ", 0) != 0) {
      continue;
    }
    const size_t close = line.rfind('}');
    const std::string labels =
        close == std::string::npos ? "" : line.substr(name.size(), close);
    bool all = true;
    for (const std::string& p : parts) all &= absl::StrContains(labels, p);
    if (!all) continue;
    double v = 0;
    if (!absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &v)) continue;
    sum = sum.value_or(0) + v;
  }
  return sum;
}

struct HostReading {
  std::string perfwire, node;
};

// Scrapes the perfwire exporter right after it took a new frame (the frame's
// counters are then microseconds old), then node_exporter at once: both
// readings stand for the same moment.
HostReading ReadBoth(uint16_t perfwire_port, uint16_t node_port) {
  auto frames = [&] {
    return SumSamples(HttpGet(perfwire_port, "/metrics"),
                      "perfwire_exporter_frames_total", {})
        .value_or(-1);
  };
  const double before = frames();
  HostReading r;
  for (int i = 0; i < 400; ++i) {
    std::string m = HttpGet(perfwire_port, "/metrics");
    if (SumSamples(m, "perfwire_exporter_frames_total", {}).value_or(-1) >
        before) {
      r.node = HttpGet(node_port, "/metrics");
      r.perfwire = std::move(m);
      return r;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return r;
}

// Moves `bytes` through a loopback TCP connection.
void LoopbackTraffic(size_t bytes) {
  UniqueFd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  listen(listener.get(), 1);
  std::thread sender([&] {
    UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
        0) {
      return;
    }
    std::vector<char> buf(1 << 16, 'x');
    size_t sent = 0;
    while (sent < bytes) {
      const ssize_t n = send(fd.get(), buf.data(),
                             std::min(buf.size(), bytes - sent), MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<size_t>(n);
    }
  });
  UniqueFd conn(accept(listener.get(), nullptr, nullptr));
  std::vector<char> buf(1 << 16);
  size_t got = 0;
  while (got < bytes) {
    const ssize_t n = recv(conn.get(), buf.data(), buf.size(), 0);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  sender.join();
}

// #15.16: the exporter's host counters against node_exporter's on the same
// host, read at the same moments: CPU time and context-switch rates within 1%,
// disk and network bytes within 0.5%, under a workload that moves bytes
// (stress-ng for CPU and switches, loopback TCP, dd to a file with fsync).
TEST(PrometheusExport, HostCountersAgreeWithNodeExporter) {
  PERFWIRE_REQUIRE_BPF();
  constexpr char kNodeExporter[] = "/usr/bin/prometheus-node-exporter";
  constexpr char kStressNg[] = "/usr/bin/stress-ng";
  PERFWIRE_REQUIRE_PROGRAM(kNodeExporter);
  PERFWIRE_REQUIRE_PROGRAM(kStressNg);
  Agent agent("200ms", {"--include_loopback"});
  ASSERT_TRUE(agent.started()) << agent.error();
  std::unique_ptr<Child> exporter;
  const uint16_t perfwire_port = StartExporter(agent.socket(), exporter);
  ASSERT_NE(perfwire_port, 0);
  const uint16_t node_port = FreeLoopbackPort();
  Child node(kNodeExporter,
             {"--web.listen-address=127.0.0.1:" + std::to_string(node_port),
              "--collector.disable-defaults", "--collector.cpu",
              "--collector.stat", "--collector.diskstats", "--collector.netdev",
              // Debian's default leaves lo out; the loopback traffic is there.
              "--collector.netdev.device-exclude=^$", "--log.level=error"});
  ASSERT_TRUE(WaitFor(20, [&] {
    return absl::StrContains(HttpGet(node_port, "/metrics"),
                             "node_context_switches_total") &&
           absl::StrContains(HttpGet(perfwire_port, "/metrics"),
                             "perfwire_host_network_bytes_total");
  })) << "node_exporter or the exporter did not come up";

  Child stress(kStressNg,
               {"--cpu", "2", "--cpu-load", "35", "--switch", "1",
                "--switch-freq", "20000", "--timeout", "60s", "--quiet"});
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const HostReading a = ReadBoth(perfwire_port, node_port);
  ASSERT_FALSE(a.perfwire.empty()) << "no new frame within 0.8 s";
  const auto t0 = std::chrono::steady_clock::now();
  TempDir dir;
  LoopbackTraffic(size_t{512} << 20);
  const std::string dd =
      absl::StrCat("dd if=/dev/zero of=", dir.path(),
                   "/dd.bin bs=1M count=256 conv=fsync status=none");
  ASSERT_EQ(system(dd.c_str()), 0) << dd;
  std::this_thread::sleep_for(std::chrono::seconds(10) -
                              (std::chrono::steady_clock::now() - t0));
  const HostReading b = ReadBoth(perfwire_port, node_port);
  ASSERT_FALSE(b.perfwire.empty()) << "no new frame within 0.8 s";
  stress.Signal(SIGTERM);

  auto delta = [&](std::string HostReading::*which, const std::string& name,
                   const std::vector<std::string>& parts) {
    const std::optional<double> x = SumSamples(a.*which, name, parts);
    const std::optional<double> y = SumSamples(b.*which, name, parts);
    EXPECT_TRUE(x.has_value() && y.has_value()) << name;
    return x.has_value() && y.has_value() ? *y - *x : 0.0;
  };
  const auto P = &HostReading::perfwire;
  const auto N = &HostReading::node;
  struct Check {
    const char* what;
    double perfwire, node, tolerance;
    // Both read /proc/stat microseconds apart, but each CPU's time moves in
    // 10 ms ticks: one tick per CPU (2 here) at either end, in seconds.
    double slack = 0;
  };
  std::vector<Check> checks;
  for (const char* mode : {"user", "system", "idle"}) {
    const std::string m = absl::StrCat("mode=\"", mode, "\"");
    checks.push_back({mode, delta(P, "perfwire_host_cpu_seconds_total", {m}),
                      delta(N, "node_cpu_seconds_total", {m}), 0.01, 0.04});
  }
  checks.push_back({"context switches",
                    delta(P, "perfwire_host_context_switches_total", {}),
                    delta(N, "node_context_switches_total", {}), 0.01});
  checks.push_back(
      {"vda written bytes",
       delta(P, "perfwire_host_disk_bytes_total",
             {"device=\"vda\"", "direction=\"write\""}),
       delta(N, "node_disk_written_bytes_total", {"device=\"vda\""}), 0.005});
  checks.push_back(
      {"lo received bytes",
       delta(P, "perfwire_host_network_bytes_total",
             {"interface=\"lo\"", "direction=\"receive\""}),
       delta(N, "node_network_receive_bytes_total", {"device=\"lo\""}), 0.005});
  for (const Check& c : checks) {
    std::printf("  %-18s perfwire %.6g node_exporter %.6g (%+.3f%%)\n", c.what,
                c.perfwire, c.node,
                c.node != 0 ? 100.0 * (c.perfwire - c.node) / c.node : 0.0);
    // idle may be 0 on a machine saturated by other work; the rest moves.
    if (std::string(c.what) != "idle") {
      EXPECT_GT(c.node, 0) << c.what;
    }
    EXPECT_NEAR(c.perfwire, c.node, c.tolerance * c.node + c.slack) << c.what;
  }
  // The workload moved at least what it was asked to.
  EXPECT_GE(checks[4].node, 256.0 * (1 << 20));
  EXPECT_GE(checks[5].node, 512.0 * (1 << 20));
  exporter->Signal(SIGTERM);
  std::string out;
  EXPECT_EQ(exporter->Finish(&out), 0);
}

TEST(PrometheusExport, RealPrometheusSeesPingPongSwitches) {
  PERFWIRE_REQUIRE_BPF();
  PERFWIRE_REQUIRE_PROGRAM(kPrometheus);
  Agent agent;
  ASSERT_TRUE(agent.started()) << agent.error();
  std::unique_ptr<Child> exporter;
  const uint16_t exporter_port =
      StartExporter(agent.socket(), exporter,
                    // Busy hosts have thousands of threads: no cap here.
                    {"--threads", "--max_series=1000000"});
  ASSERT_NE(exporter_port, 0);

  TempDir dir;
  const std::string config = dir.path() + "/prometheus.yml";
  {
    std::ofstream out(config);
    out << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        << "scrape_configs:\n  - job_name: perfwire\n    static_configs:\n"
        << "      - targets: ['127.0.0.1:" << exporter_port << "']\n";
  }
  const uint16_t prom_port = FreeLoopbackPort();
  Child prometheus(
      kPrometheus,
      {"--config.file=" + config, "--storage.tsdb.path=" + dir.path() + "/data",
       "--web.listen-address=127.0.0.1:" + std::to_string(prom_port),
       "--log.level=error"});
  ASSERT_TRUE(WaitFor(30,
                      [&] {
                        return absl::StartsWith(HttpGet(prom_port, "/-/ready"),
                                                "HTTP/1.1 200");
                      }))
      << "Prometheus did not become ready on port " << prom_port;
  ASSERT_TRUE(WaitFor(30, [&] {
    return QueryValue(prom_port, "up{job=\"perfwire\"}") == 1.0;
  })) << "Prometheus never scraped the exporter";

  Child workload(WorkloadPath("pingpong"), {"--round-trips=200000"});
  std::string out;
  ASSERT_EQ(workload.Finish(&out), 0) << out;
  std::vector<std::map<std::string, std::string>> truths;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("truth ", 0) == 0) truths.push_back(ParseFields(line));
  }
  ASSERT_EQ(truths.size(), 2u) << out;

  for (const auto& truth : truths) {
    const std::string tid = truth.at("tid");
    const double expected =
        static_cast<double>(Field(truth, "voluntary_switch_count"));
    const std::string total =
        absl::StrCat("perfwire_thread_context_switches_total{tid=\"", tid,
                     "\",kind=\"voluntary\"}");
    std::optional<double> got;
    // The exit is reported a frame or two after the join; then one scrape.
    WaitFor(30, [&] {
      got = QueryValue(prom_port, total);
      return got.has_value() && *got >= expected - 2;
    });
    ASSERT_TRUE(got.has_value()) << "no series " << total;
    EXPECT_NEAR(*got, expected, 4) << total;
    // rate() over the run: the workload switched at a nonzero rate.
    const std::optional<double> rate = QueryValue(
        prom_port, absl::StrCat("max_over_time(rate(", total, "[5s])[1m:1s])"));
    ASSERT_TRUE(rate.has_value());
    EXPECT_GT(*rate, 0) << "rate of " << total;
    std::printf(
        "  tid %s voluntary switches: kernel %.0f prometheus %.0f, "
        "peak rate %.0f/s\n",
        tid.c_str(), expected, *got, *rate);
  }
  // promtool accepts the live exposition (real comm names, thread series).
  const std::string response = HttpGet(exporter_port, "/metrics");
  const size_t body = response.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos);
  const std::string metrics_file = dir.path() + "/metrics.txt";
  std::ofstream(metrics_file) << response.substr(body + 4);
  if (access("/usr/bin/promtool", X_OK) == 0) {
    EXPECT_EQ(
        system(("/usr/bin/promtool check metrics < " + metrics_file).c_str()),
        0);
  }
  prometheus.Signal(SIGTERM);
  exporter->Signal(SIGTERM);
  EXPECT_EQ(exporter->Finish(&out), 0);
}

}  // namespace
}  // namespace perfwire::testing
