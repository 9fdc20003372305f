// W4 and the agent self-cost population: --idle threads that sleep, plus
// --create_per_sec short-lived threads per second (each spins --work_us and
// exits), for --seconds (0: until SIGTERM/SIGINT).
//
// Prints "ready threads=<n>" (flushed) once the idle population exists, then at
// the end: cpu_us_per_create=<process CPU (getrusage) per short-lived thread,
//   i.e. clone + run + exit + join> start_us=<median µs from pthread_create to
//   the child running> created=<n> create_per_sec=<achieved> seconds=<float>
// (start_us mostly measures how fast an idle vCPU wakes up, so the driver uses
// cpu_us_per_create as W4's figure of merit.)
// If the population cannot be reached (threads-max, pid_max, memory), prints
// "error spawned=<n> errno=<text>" and exits 3.
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "tests/bench/bench_common.h"

namespace {

std::atomic<uint32_t> g_release{0};
std::atomic<bool> g_stop{false};
int64_t g_idle_wake_ms = 0;

void OnSignal(int) { g_stop.store(true); }

void* Idle(void*) {
  if (g_idle_wake_ms > 0) {
    // Mostly idle: wake rarely, do a little work, sleep again.
    while (g_release.load() == 0) {
      timespec ts{static_cast<time_t>(g_idle_wake_ms / 1000),
                  static_cast<long>((g_idle_wake_ms % 1000) * 1000000)};
      nanosleep(&ts, nullptr);
      volatile int x = 0;
      for (int i = 0; i < 1000; ++i) x = x + i;
    }
    return nullptr;
  }
  while (g_release.load() == 0) {
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&g_release),
            FUTEX_WAIT_PRIVATE, 0, nullptr, nullptr, 0);
  }
  return nullptr;
}

struct Child {
  uint64_t created_ns;
  uint64_t started_ns;
  int64_t work_us;
};

void* ShortLived(void* arg) {
  Child* c = static_cast<Child*>(arg);
  c->started_ns = perfwire::bench::MonotonicNs();
  const uint64_t until =
      c->started_ns + static_cast<uint64_t>(c->work_us) * 1000;
  while (perfwire::bench::MonotonicNs() < until) {
  }
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  perfwire::bench::Flags flags(argc, argv);
  flags.CheckKnown(
      {"idle", "create_per_sec", "seconds", "work_us", "idle_wake_ms", "cpu"});
  const int64_t idle = flags.Int("idle", 2000);
  const double rate = flags.Double("create_per_sec", 100);
  const double seconds = flags.Double("seconds", 5);
  const int64_t work_us = flags.Int("work_us", 0);
  g_idle_wake_ms = flags.Int("idle_wake_ms", 0);
  perfwire::bench::PinTo(static_cast<int>(flags.Int("cpu", -1)));
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 32 << 10);

  std::vector<pthread_t> idlers;
  idlers.reserve(static_cast<size_t>(idle));
  for (int64_t i = 0; i < idle; ++i) {
    pthread_t t;
    const int err = pthread_create(&t, &attr, Idle, nullptr);
    if (err != 0) {
      std::printf("error spawned=%zu errno=%s\n", idlers.size(),
                  std::strerror(err));
      std::fflush(stdout);
      g_release.store(1);
      syscall(SYS_futex, reinterpret_cast<uint32_t*>(&g_release),
              FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr, nullptr, 0);
      for (pthread_t x : idlers) pthread_join(x, nullptr);
      return 3;
    }
    idlers.push_back(t);
  }
  std::printf("ready threads=%zu\n", idlers.size() + 1);
  std::fflush(stdout);

  auto cpu_us = [] {
    rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
  };
  std::vector<uint64_t> start_latency_ns;
  const double cpu0 = cpu_us();
  const uint64_t t0 = perfwire::bench::MonotonicNs();
  const uint64_t end =
      seconds > 0 ? t0 + static_cast<uint64_t>(seconds * 1e9) : UINT64_MAX;
  const uint64_t period = rate > 0 ? static_cast<uint64_t>(1e9 / rate) : 0;
  uint64_t next = t0;
  int64_t created = 0;
  while (!g_stop.load()) {
    const uint64_t now = perfwire::bench::MonotonicNs();
    if (now >= end) break;
    if (period == 0) {
      usleep(100000);
      continue;
    }
    if (now < next) {
      const uint64_t wait = std::min(next, end) - now;
      timespec ts{static_cast<time_t>(wait / 1000000000),
                  static_cast<long>(wait % 1000000000)};
      nanosleep(&ts, nullptr);
      continue;
    }
    next += period;
    Child c{perfwire::bench::MonotonicNs(), 0, work_us};
    pthread_t t;
    if (pthread_create(&t, &attr, ShortLived, &c) != 0) continue;
    pthread_join(t, nullptr);
    start_latency_ns.push_back(c.started_ns - c.created_ns);
    ++created;
  }
  const uint64_t t1 = perfwire::bench::MonotonicNs();
  const double cpu1 = cpu_us();

  g_release.store(1);
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&g_release),
          FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr, nullptr, 0);
  for (pthread_t x : idlers) pthread_join(x, nullptr);

  double median_us = 0;
  if (!start_latency_ns.empty()) {
    std::sort(start_latency_ns.begin(), start_latency_ns.end());
    median_us =
        static_cast<double>(start_latency_ns[start_latency_ns.size() / 2]) /
        1e3;
  }
  const double secs = static_cast<double>(t1 - t0) / 1e9;
  std::printf(
      "cpu_us_per_create=%.2f start_us=%.2f created=%lld create_per_sec=%.1f "
      "seconds=%.3f\n",
      created > 0 ? (cpu1 - cpu0) / static_cast<double>(created) : 0, median_us,
      static_cast<long long>(created),
      secs > 0 ? static_cast<double>(created) / secs : 0, secs);
  return 0;
}
