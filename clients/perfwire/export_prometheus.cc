// `perfwire export prometheus`: reads frames from perfwired on one thread and
// serves their running totals as Prometheus metrics over HTTP on the main
// thread. Needs no privilege beyond access to perfwired's socket; the
// privileged agent itself never listens on a network port.

#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>

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
#include "clients/lib/frame_stream.h"
#include "clients/lib/http_server.h"
#include "clients/lib/prometheus_exposition.h"
#include "clients/lib/unique_fd.h"
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

// Reads frames into `exposition` until g_stop, reconnecting every second
// while perfwired is away.
class Reader {
 public:
  Reader(std::string socket, absl::Mutex* mu, PrometheusExposition* exposition)
      : socket_(std::move(socket)), mu_(mu), exposition_(exposition) {
    thread_ = std::thread(&Reader::Run, this);
  }
  ~Reader() {
    if (const int fd = fd_.load(); fd >= 0) shutdown(fd, SHUT_RDWR);
    thread_.join();
  }

 private:
  absl::Status ReadUntilError() {
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) return absl::ErrnoToStatus(errno, "socket");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_.size() >= sizeof(addr.sun_path)) {
      return absl::InvalidArgumentError("socket path too long: " + socket_);
    }
    std::memcpy(addr.sun_path, socket_.data(), socket_.size());
    if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
        0) {
      return absl::ErrnoToStatus(
          errno, absl::StrCat("no perfwired is listening on ", socket_));
    }
    fd_ = fd.get();
    FrameStream stream = FrameStream::FromFd(std::move(fd));
    {
      absl::MutexLock lock(mu_);
      exposition_->SetConnected(true);
    }
    absl::Status status;
    while (!g_stop) {
      absl::StatusOr<const fb::Frame*> frame = stream.Next();
      if (!frame.ok()) {
        status = frame.status();
        break;
      }
      absl::MutexLock lock(mu_);
      exposition_->Add(**frame);
    }
    fd_ = -1;
    absl::MutexLock lock(mu_);
    exposition_->SetConnected(false);
    return status;
  }

  void Run() {
    std::string last_error;
    while (!g_stop) {
      const absl::Status status = ReadUntilError();
      if (g_stop) break;
      const std::string error = absl::IsOutOfRange(status)
                                    ? "perfwired closed the stream"
                                    : std::string(status.message());
      if (error != last_error) {
        PrintError(absl::StrCat(error, "; retrying every second"));
        last_error = error;
      }
      for (int i = 0; i < 10 && !g_stop; ++i) {
        absl::SleepFor(absl::Milliseconds(100));
      }
    }
  }

  std::string socket_;
  absl::Mutex* mu_;
  PrometheusExposition* exposition_;
  std::atomic<int> fd_{-1};
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
