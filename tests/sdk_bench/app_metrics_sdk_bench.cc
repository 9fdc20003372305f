// Cost per call of perfwire/app_metrics.h:
//   NoAgent:   nobody listens on the socket (the common "agent not running"
//   case) Agent:     a receiver thread drains the socket like perfwired does
//   AgentFull: a receiver that never reads: every send fails with EAGAIN
// Run: build/bin/app_metrics_sdk_bench

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>

#include "benchmark/benchmark.h"
#include "perfwire/app_metrics.h"

namespace {

using perfwire::app::Counter;
using perfwire::app::Gauge;
using perfwire::app::Histogram;
using perfwire::app::ScopedTimer;
using perfwire::app::Sink;
using perfwire::app::Timer;

// A socket in a temp dir; optionally a thread draining it.
class Receiver {
 public:
  explicit Receiver(bool drain) {
    char tmpl[] = "/tmp/perfwire_sdk_bench.XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/app.sock";
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path_.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    if (drain) {
      thread_ = std::thread([this] {
        char buf[8192];
        while (!stop_.load(std::memory_order_relaxed)) {
          if (recv(fd_, buf, sizeof(buf), MSG_DONTWAIT) < 0)
            usleep(50);
          else
            received_.fetch_add(1, std::memory_order_relaxed);
        }
      });
    }
  }
  ~Receiver() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    close(fd_);
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }
  uint64_t received() const { return received_; }

 private:
  std::string dir_, path_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> received_{0};
  std::thread thread_;
};

enum Mode { kNoAgent, kAgent, kAgentFull };

template <typename Fn>
void Run(benchmark::State& state, Fn&& fn) {
  const Mode mode = static_cast<Mode>(state.range(0));
  std::unique_ptr<Receiver> rx;
  std::string path = "/nonexistent/perfwire/app.sock";
  if (mode != kNoAgent) {
    rx = std::make_unique<Receiver>(mode == kAgent);
    path = rx->path();
  }
  Sink sink(path.c_str());
  fn(state, sink);
  state.SetLabel(mode == kNoAgent ? "no agent"
                 : mode == kAgent ? "agent draining"
                                  : "agent queue full");
  if (rx) state.counters["received"] = static_cast<double>(rx->received());
  state.counters["dropped"] = static_cast<double>(sink.dropped_count());
}

void BM_CounterAdd(benchmark::State& state) {
  Run(state, [](benchmark::State& st, Sink& sink) {
    Counter c("bench.requests", {{"route", "/api"}}, sink);
    for (auto _ : st) c.Add();
  });
}

void BM_GaugeSet(benchmark::State& state) {
  Run(state, [](benchmark::State& st, Sink& sink) {
    Gauge g("bench.queue_depth", {}, sink);
    double v = 0;
    for (auto _ : st) g.Set(v += 1);
  });
}

void BM_GaugeAdd(benchmark::State& state) {
  Run(state, [](benchmark::State& st, Sink& sink) {
    Gauge g("bench.in_flight", {}, sink);
    for (auto _ : st) g.Add(1);
  });
}

void BM_HistogramRecord(benchmark::State& state) {
  Run(state, [](benchmark::State& st, Sink& sink) {
    Histogram h("bench.batch", {}, sink);
    double v = 0.5;
    for (auto _ : st) h.Record(v += 0.25);
  });
}

void BM_ScopedTimer(benchmark::State& state) {
  Run(state, [](benchmark::State& st, Sink& sink) {
    Timer t("bench.op_ms", {}, sink);
    for (auto _ : st) {
      ScopedTimer scoped(t);
    }
  });
}

// The macro uses Sink::Default(): with no agent at the default path.
void BM_TimeBlockMacroNoAgent(benchmark::State& state) {
  setenv("PERFWIRE_APP_SOCKET", "/nonexistent/perfwire/app.sock", 1);
  for (auto _ : state) {
    PERFWIRE_TIME_BLOCK("bench.block_ms");
  }
}

#define MODES ->Arg(kNoAgent)->Arg(kAgent)->Arg(kAgentFull)
BENCHMARK(BM_CounterAdd) MODES;
BENCHMARK(BM_GaugeSet) MODES;
BENCHMARK(BM_GaugeAdd) MODES;
BENCHMARK(BM_HistogramRecord) MODES;
BENCHMARK(BM_ScopedTimer) MODES;
BENCHMARK(BM_TimeBlockMacroNoAgent);

}  // namespace

BENCHMARK_MAIN();
