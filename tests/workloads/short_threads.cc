// short_threads: creates --count short-lived threads, at most --concurrency
// alive at once, while --hogs threads spin (CPU contention: it delays and
// reorders exits, and on some kernels makes sched_process_free go missing for
// a few of them, which the agent must survive). Thread i writes exactly 1000 +
// i % 977 bytes to /dev/null with one write(), records its tid and the bytes
// written, and exits. These threads do not park; after all joins main prints
//   short tid=<tid> write_bytes=<n>     (one per thread, in creation order)
//   done count=<count>

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <thread>
#include <vector>

#include "truth.h"

namespace {

using perfwire::workload::Die;

constexpr size_t kStackBytes = 64 << 10;
constexpr uint64_t kMaxWrite = 1000 + 976;

struct Slot {
  int fd = -1;        // /dev/null, shared
  uint64_t want = 0;  // bytes to write
  const char* data = nullptr;
  pid_t tid = 0;         // set by the thread
  int64_t written = -1;  // set by the thread: write()'s result
};

void* Run(void* arg) {
  Slot* s = static_cast<Slot*>(arg);
  s->tid = perfwire::workload::GetTid();
  s->written = write(s->fd, s->data, s->want);
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  perfwire::workload::Flags flags("short_threads");
  flags.Declare("count", "10000");
  flags.Declare("concurrency", "8");
  flags.Declare("hogs", "0");
  flags.Parse(argc, argv);
  const uint64_t count = flags.U64("count");
  const uint64_t concurrency = flags.U64("concurrency");
  if (concurrency == 0) Die("--concurrency must be > 0");
  perfwire::workload::AnnounceReadyAndDelay(flags);

  std::atomic<bool> stop_hogs{false};
  std::vector<std::thread> hogs;
  for (uint64_t i = 0; i < flags.U64("hogs"); ++i) {
    hogs.emplace_back([&stop_hogs] {
      while (!stop_hogs.load(std::memory_order_relaxed)) {
      }
    });
  }

  const int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (fd < 0) Die("open /dev/null", true);
  static const std::vector<char> data(kMaxWrite, 'z');
  std::vector<Slot> slots(count);
  std::vector<pthread_t> threads(count);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kStackBytes);
  for (uint64_t i = 0; i < count; ++i) {
    if (i >= concurrency) pthread_join(threads[i - concurrency], nullptr);
    slots[i] = {fd, 1000 + i % 977, data.data()};
    const int err = pthread_create(&threads[i], &attr, Run, &slots[i]);
    if (err != 0) {
      errno = err;
      Die("pthread_create", true);
    }
  }
  const uint64_t first_live = count > concurrency ? count - concurrency : 0;
  for (uint64_t i = first_live; i < count; ++i) {
    pthread_join(threads[i], nullptr);
  }
  pthread_attr_destroy(&attr);
  close(fd);
  stop_hogs = true;
  for (std::thread& h : hogs) h.join();

  for (const Slot& s : slots) {
    if (s.written != static_cast<int64_t>(s.want)) {
      Die("a thread's write to /dev/null was short or failed");
    }
    std::printf("short tid=%d write_bytes=%" PRIu64 "\n",
                static_cast<int>(s.tid), s.want);
  }
  std::printf("done count=%" PRIu64 "\n", count);
  std::fflush(stdout);
  return 0;
}
