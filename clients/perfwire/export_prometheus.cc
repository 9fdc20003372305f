// `perfwire export prometheus`: reads frames from perfwired on one thread and
// serves their running totals as Prometheus metrics over HTTP on the main
// thread. Needs no privilege beyond access to perfwired's socket; the
// privileged agent itself never listens on a network port.

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/lib/frame_feed.h"
#include "clients/lib/http_server.h"
#include "clients/lib/prometheus_exposition.h"
#include "clients/perfwire/common_flags.h"
#include "clients/perfwire/export.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:9464",
          "HOST:PORT to serve /metrics on (IPv4; port 0 picks a free one)");
ABSL_FLAG(int64_t, max_series, 1000,
          "most threads (with --threads), and separately most process "
          "series and most StatsD series, exported; beyond it updates are "
          "dropped and perfwire_exporter_series_overflow{kind} is 1");
ABSL_FLAG(bool, per_pid, false,
          "export process series per pid (labels pid, process) instead of "
          "one series per process name (the default, bounded by the "
          "number of distinct names)");
ABSL_FLAG(bool, allow_remote, false,
          "allow a non-loopback --listen address (the exporter has no "
          "authentication; put it behind a firewall)");

namespace perfwire {
namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop = true; }

void PrintError(absl::string_view message) {
  std::fprintf(stderr, "perfwire export prometheus: %.*s\n",
               static_cast<int>(message.size()), message.data());
}

// The first line of a /proc file, nullopt when unreadable.
std::optional<std::string> ReadLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  return line;
}

// The name of a live process: /proc/<pid>/comm is its leader's comm. Used
// until the leader's own row has been seen (a leader that only sleeps may
// never appear in a frame), and only when /proc/<pid>/task/<tid> is the row's
// thread by name: frames replayed from elsewhere, or from another pid
// namespace, must not borrow an unrelated local process's name.
std::optional<std::string> ProcessNameFromProc(const fb::Thread& row) {
  const std::string dir = absl::StrCat("/proc/", row.pid());
  const std::optional<std::string> thread =
      ReadLine(absl::StrCat(dir, "/task/", row.tid(), "/comm"));
  if (!thread.has_value() || row.comm() == nullptr ||
      *thread != row.comm()->string_view()) {
    return std::nullopt;
  }
  return ReadLine(dir + "/comm");
}

constexpr char kIndex[] =
    "<html><head><title>perfwire exporter</title></head><body>"
    "<h1>perfwire exporter</h1><p><a href=\"/metrics\">/metrics</a></p>"
    "<p>Metric names and units: docs/PROMETHEUS.md</p></body></html>\n";

// Reads frames into `exposition` on its own thread with the shared
// reconnecting reader (FrameFeed) until destroyed; reports each new reason
// for a lost stream once on stderr.
class Reader : public FrameSink {
 public:
  Reader(std::string socket, absl::Mutex* mu, PrometheusExposition* exposition)
      : feed_(FeedOptions(std::move(socket))),
        mu_(mu),
        exposition_(exposition) {
    thread_ = std::thread([this] { feed_.Run(*this).IgnoreError(); });
  }
  ~Reader() override {
    feed_.Cancel();
    thread_.join();
  }

  void OnConnected() override {
    absl::MutexLock lock(mu_);
    exposition_->SetConnected(true);
  }
  void OnFrame(const fb::Frame& frame, absl::Span<const uint8_t>) override {
    absl::MutexLock lock(mu_);
    exposition_->Add(frame);
  }
  bool OnLost(const LossReport& report) override {
    {
      absl::MutexLock lock(mu_);
      exposition_->SetConnected(false);
    }
    const std::string error =
        absl::IsOutOfRange(report.status)
            ? absl::StrCat(StreamLossName(report.reason),
                           ": perfwired closed the stream")
            : absl::StrCat(StreamLossName(report.reason), ": ",
                           report.status.message());
    if (error != last_error_) {
      PrintError(absl::StrCat(error, "; retrying"));
      last_error_ = error;
    }
    return true;
  }

 private:
  static FrameFeed::Options FeedOptions(std::string socket) {
    FrameFeed::Options options;
    options.socket_path = std::move(socket);
    options.max_backoff = absl::Seconds(1);  // scrapes see a gap of <= 1 s
    return options;
  }

  FrameFeed feed_;
  absl::Mutex* mu_;
  PrometheusExposition* exposition_;
  std::string last_error_;
  std::thread thread_;
};

}  // namespace

int RunExportPrometheus(const std::vector<char*>& args) {
  if (!args.empty()) {
    PrintError(absl::StrCat("unexpected argument '", args[0], "'"));
    return 2;
  }
  const int64_t max_series = absl::GetFlag(FLAGS_max_series);
  if (max_series < 1) {
    PrintError("--max_series must be at least 1");
    return 2;
  }
  absl::StatusOr<ListenAddress> address =
      ParseListenAddress(absl::GetFlag(FLAGS_listen));
  if (!address.ok()) {
    PrintError(address.status().message());
    return 2;
  }
  if (!address->loopback && !absl::GetFlag(FLAGS_allow_remote)) {
    PrintError(absl::StrCat(
        "refusing to listen on non-loopback ", address->host,
        " without --allow_remote (the exporter has no authentication)"));
    return 2;
  }
  absl::StatusOr<HttpServer> server = HttpServer::Listen(*address);
  if (!server.ok()) {
    PrintError(absl::StrCat("error: ", server.status().message()));
    return 1;
  }

  struct sigaction action {};
  action.sa_handler = &OnSignal;  // no SA_RESTART: poll() returns EINTR
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  PrometheusExposition::Options options;
  options.threads = absl::GetFlag(FLAGS_threads);
  options.per_pid = absl::GetFlag(FLAGS_per_pid);
  options.process_name = &ProcessNameFromProc;
  options.max_series = static_cast<size_t>(max_series);
  absl::Mutex mu;
  PrometheusExposition exposition(options);
  std::printf("perfwire export prometheus: serving http://%s:%u/metrics\n",
              address->host.c_str(), static_cast<unsigned>(server->port()));
  std::fflush(stdout);

  Reader reader(absl::GetFlag(FLAGS_socket), &mu, &exposition);
  const HttpServer::Handler handler =
      [&](const HttpRequestLine& request) -> HttpResponse {
    HttpResponse response;
    if (request.path == "/metrics") {
      response.content_type = "text/plain; version=0.0.4; charset=utf-8";
      absl::MutexLock lock(&mu);
      response.body = exposition.Render();
    } else if (request.path == "/") {
      response.content_type = "text/html; charset=utf-8";
      response.body = kIndex;
    } else {
      response.status = 404;
      response.body = "Not Found: try /metrics\n";
    }
    return response;
  };
  int exit_code = 0;
  while (!g_stop) {
    if (absl::Status status =
            server->ServeOne(handler, absl::Milliseconds(250));
        !status.ok()) {
      PrintError(absl::StrCat("error: ", status.message()));
      exit_code = 1;
      break;
    }
  }
  g_stop = true;
  return exit_code;
}

}  // namespace perfwire
