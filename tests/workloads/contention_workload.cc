// contention_workload: threads that wait for one thing each, by
// construction, for the contention tests
// (tests/integration/contention_test.cc).
//
//   --mode=mutex      --threads (8) fight over one pthread mutex: each loop
//                     holds it --hold-us and works --outside-us outside it.
//   --mode=pinned     --threads (4) spin, all pinned to --cpu.
//   --mode=direct_io  one thread: 4 KiB O_DIRECT|O_DSYNC overwrites in --dir.
//   --mode=sleeper    one thread: nanosleep(--sleep-us) in a loop.
//   --mode=spinner    one thread spins.
//   --mode=pipe       a producer writes 1 byte, sleeps --sleep-us, --messages
//                     times; a consumer blocks reading them.
// Every worker runs for --duration-ms of wall time (pipe: until done), then
// reads its own /proc/thread-self/{schedstat,status} and records a truth line:
//   truth tid= pid= role= wall_ns= on_cpu_ns= run_delay_ns= nvcsw= nivcsw=
//         call_ns= calls=
// call_ns/calls: time inside pthread_mutex_lock (mutex), pwrite (direct_io),
// read (pipe consumer), write (producer). The lines are printed after every
// worker has exited, then main waits --linger-ms (so a reader sees the exits).

#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <sched.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "truth.h"

namespace {

using perfwire::workload::Die;
using perfwire::workload::MonotonicNs;
using perfwire::workload::SlurpOrDie;

struct Truth {
  std::string role;
  pid_t tid = 0;
  uint64_t wall_ns = 0;
  uint64_t on_cpu_ns = 0;
  uint64_t run_delay_ns = 0;
  uint64_t nvcsw = 0;
  uint64_t nivcsw = 0;
  uint64_t call_ns = 0;
  uint64_t calls = 0;
};

// Called by the worker itself at the end of its work.
void Observe(Truth& t, uint64_t start_ns) {
  t.wall_ns = MonotonicNs() - start_ns;
  t.tid = perfwire::workload::GetTid();
  const std::string ss = SlurpOrDie("/proc/thread-self/schedstat");
  if (std::sscanf(ss.c_str(), "%" SCNu64 " %" SCNu64, &t.on_cpu_ns,
                  &t.run_delay_ns) != 2) {
    Die("bad /proc/thread-self/schedstat: " + ss);
  }
  const std::string status = SlurpOrDie("/proc/thread-self/status");
  t.nvcsw = perfwire::workload::KeyValueOrDie(status, "voluntary_ctxt_switches",
                                              "status");
  t.nivcsw = perfwire::workload::KeyValueOrDie(
      status, "nonvoluntary_ctxt_switches", "status");
}

void PinTo(uint64_t cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<int>(cpu), &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0)
    Die("sched_setaffinity", true);
}

}  // namespace

int main(int argc, char** argv) {
  perfwire::workload::Flags flags("contention_workload");
  flags.Declare("mode", "spinner");
  flags.Declare("threads", "0");
  flags.Declare("duration-ms", "3000");
  flags.Declare("hold-us", "200");
  flags.Declare("outside-us", "20");
  flags.Declare("cpu", "0");
  flags.Declare("dir", "/var/tmp");
  flags.Declare("sleep-us", "10000");
  flags.Declare("messages", "2000");
  flags.Declare("linger-ms", "0");
  flags.Parse(argc, argv);
  const std::string mode = flags.Str("mode");
  const uint64_t duration_ns = flags.U64("duration-ms") * 1000000ull;
  const uint64_t sleep_us = flags.U64("sleep-us");

  std::string io_path;
  int io_fd = -1;
  void* io_buf = nullptr;
  constexpr uint64_t kIoFileBytes = 64 << 20, kIoBlock = 4096;
  if (mode == "direct_io") {
    struct statfs fs;
    if (statfs(flags.Str("dir").c_str(), &fs) != 0) Die("statfs --dir", true);
    if (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC) {
      std::fprintf(stderr, "error: --dir is not on a block device\n");
      return 4;
    }
    // Written and synced once, so the O_DIRECT overwrites need no allocation
    // or journal work: each write is one block request the thread waits for.
    io_path =
        flags.Str("dir") + "/perfwire-contention-" + std::to_string(getpid());
    int fd =
        open(io_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) Die("create " + io_path, true);
    std::vector<char> chunk(1 << 20, 0x5a);
    for (uint64_t off = 0; off < kIoFileBytes; off += chunk.size()) {
      if (write(fd, chunk.data(), chunk.size()) !=
          static_cast<ssize_t>(chunk.size())) {
        Die("prefill", true);
      }
    }
    if (fsync(fd) != 0) Die("fsync", true);
    close(fd);
    io_fd = open(io_path.c_str(), O_WRONLY | O_DIRECT | O_DSYNC | O_CLOEXEC);
    if (io_fd < 0) {
      unlink(io_path.c_str());
      std::fprintf(stderr, "error: O_DIRECT open: %s\n", std::strerror(errno));
      return 3;
    }
    if (posix_memalign(&io_buf, kIoBlock, kIoBlock) != 0) Die("posix_memalign");
    std::memset(io_buf, 0xa5, kIoBlock);
  }

  perfwire::workload::AnnounceReadyAndDelay(flags);

  std::vector<Truth> truths;
  std::vector<std::thread> threads;
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

  if (mode == "mutex" || mode == "pinned") {
    uint64_t n = flags.U64("threads");
    if (n == 0) n = mode == "mutex" ? 8 : 4;
    truths.resize(n);
    const uint64_t hold_ns = flags.U64("hold-us") * 1000,
                   outside_ns = flags.U64("outside-us") * 1000;
    const uint64_t cpu = flags.U64("cpu");
    for (uint64_t i = 0; i < n; ++i) {
      threads.emplace_back([&, i] {
        Truth& t = truths[i];
        t.role = mode;
        if (mode == "pinned") PinTo(cpu);
        const uint64_t start = MonotonicNs();
        while (MonotonicNs() - start < duration_ns) {
          if (mode == "pinned") {
            perfwire::workload::SpinFor(1000000);
            continue;
          }
          const uint64_t t0 = MonotonicNs();
          pthread_mutex_lock(&mu);
          t.call_ns += MonotonicNs() - t0;
          ++t.calls;
          perfwire::workload::SpinFor(hold_ns);
          pthread_mutex_unlock(&mu);
          perfwire::workload::SpinFor(outside_ns);
        }
        Observe(t, start);
      });
    }
  } else if (mode == "direct_io" || mode == "sleeper" || mode == "spinner") {
    truths.resize(1);
    threads.emplace_back([&] {
      Truth& t = truths[0];
      t.role = mode;
      const uint64_t start = MonotonicNs();
      uint64_t block = 0;
      while (MonotonicNs() - start < duration_ns) {
        if (mode == "spinner") {
          perfwire::workload::SpinFor(1000000);
        } else if (mode == "sleeper") {
          timespec ts{0, static_cast<long>(sleep_us * 1000)};
          nanosleep(&ts, nullptr);
        } else {
          const off_t off =
              static_cast<off_t>((block++ * 7919) % (kIoFileBytes / kIoBlock)) *
              kIoBlock;
          const uint64_t t0 = MonotonicNs();
          if (pwrite(io_fd, io_buf, kIoBlock, off) !=
              static_cast<ssize_t>(kIoBlock)) {
            Die("pwrite O_DIRECT", true);
          }
          t.call_ns += MonotonicNs() - t0;
          ++t.calls;
        }
      }
      Observe(t, start);
    });
  } else if (mode == "pipe") {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) Die("pipe", true);
    const uint64_t messages = flags.U64("messages");
    truths.resize(2);
    threads.emplace_back([&] {  // consumer
      Truth& t = truths[1];
      t.role = "consumer";
      const uint64_t start = MonotonicNs();
      char c;
      for (uint64_t i = 0; i < messages; ++i) {
        const uint64_t t0 = MonotonicNs();
        if (read(p[0], &c, 1) != 1) Die("read pipe", true);
        t.call_ns += MonotonicNs() - t0;
        ++t.calls;
      }
      Observe(t, start);
    });
    threads.emplace_back([&] {  // producer
      Truth& t = truths[0];
      t.role = "producer";
      const uint64_t start = MonotonicNs();
      for (uint64_t i = 0; i < messages; ++i) {
        timespec ts{0, static_cast<long>(sleep_us * 1000)};
        nanosleep(&ts, nullptr);
        const uint64_t t0 = MonotonicNs();
        if (write(p[1], "x", 1) != 1) Die("write pipe", true);
        t.call_ns += MonotonicNs() - t0;
        ++t.calls;
      }
      Observe(t, start);
    });
  } else {
    Die("unknown --mode=" + mode);
  }

  for (auto& th : threads) th.join();
  if (!io_path.empty()) unlink(io_path.c_str());
  for (const Truth& t : truths) {
    std::printf("truth tid=%d pid=%d role=%s wall_ns=%" PRIu64
                " on_cpu_ns=%" PRIu64 " run_delay_ns=%" PRIu64 " nvcsw=%" PRIu64
                " nivcsw=%" PRIu64 " call_ns=%" PRIu64 " calls=%" PRIu64 "\n",
                static_cast<int>(t.tid), static_cast<int>(getpid()),
                t.role.c_str(), t.wall_ns, t.on_cpu_ns, t.run_delay_ns, t.nvcsw,
                t.nivcsw, t.call_ns, t.calls);
  }
  std::printf("done\n");
  std::fflush(stdout);
  perfwire::workload::SleepMs(flags.U64("linger-ms"));
  return 0;
}
