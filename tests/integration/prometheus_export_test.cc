// `perfwire export prometheus` scraped by a real Prometheus server (Debian's
// prometheus package), started here on loopback with a temporary config and
// data directory. The test queries Prometheus's HTTP API and compares the
// series with the kernel's own counts printed by the pingpong workload.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

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
           absl::StrContains(m, "perfwire_host_cpu_percent{");
  }));
  const std::string metrics = HttpGet(port, "/metrics");
  EXPECT_TRUE(absl::StartsWith(metrics, "HTTP/1.1 200 OK\r\n")) << metrics;
  EXPECT_TRUE(absl::StrContains(metrics, "version=0.0.4"));
  EXPECT_TRUE(
      absl::StrContains(metrics, "perfwire_process_cpu_seconds_total{"));
  EXPECT_TRUE(absl::StrContains(metrics, "perfwire_host_cpu_percent{"));
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

TEST(PrometheusExport, RealPrometheusSeesPingPongSwitches) {
  PERFWIRE_REQUIRE_BPF();
  if (access(kPrometheus, X_OK) != 0) {
    if (InCi()) FAIL() << "CI=true but " << kPrometheus << " is missing";
    GTEST_SKIP() << kPrometheus << " missing (Debian package prometheus)";
  }
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
