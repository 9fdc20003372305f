// W3b: a pinned futex token ring of --threads threads with thread churn.
//
// A plain contended mutex on 2 vCPUs is too noisy to compare observers (a
// do-nothing observer reads +8%, PERFORMANCE.md), so W3 is this ring: each
// thread sleeps on its own futex word until it holds the token, then hands it
// to the next thread and wakes it. Pinned to one CPU (--cpu), every hand-off
// is one context switch. Churn: after --laps laps the whole generation exits
// and a fresh one is created, so threads are born and die continuously.
// Prints: ns_per_handoff=<float> handoffs=<n> threads_created=<n>
// seconds=<float>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <vector>

#include "tests/bench/bench_common.h"

namespace {

struct alignas(64) Slot {
  std::atomic<uint32_t> token{0};
};

long Futex(std::atomic<uint32_t>* addr, int op, uint32_t val) {
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(addr),
                 op | FUTEX_PRIVATE_FLAG, val, nullptr, nullptr, 0);
}

struct Ring {
  std::vector<Slot> slots;
  int64_t laps = 0;
};

struct Member {
  Ring* ring;
  size_t index;
};

void* RunMember(void* arg) {
  const Member m = *static_cast<Member*>(arg);
  Ring& r = *m.ring;
  const size_t n = r.slots.size();
  Slot& mine = r.slots[m.index];
  Slot& next = r.slots[(m.index + 1) % n];
  for (int64_t lap = 0; lap < r.laps; ++lap) {
    while (mine.token.load(std::memory_order_acquire) == 0) {
      Futex(&mine.token, FUTEX_WAIT, 0);
    }
    mine.token.store(0, std::memory_order_relaxed);
    next.token.store(1, std::memory_order_release);
    Futex(&next.token, FUTEX_WAKE, 1);
  }
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  perfwire::bench::Flags flags(argc, argv);
  flags.CheckKnown({"threads", "handoffs", "laps", "cpu"});
  const int64_t nthreads = flags.Int("threads", 8);
  const int64_t handoffs = flags.Int("handoffs", 1000000);
  const int64_t laps = flags.Int("laps", 1000);
  perfwire::bench::PinTo(static_cast<int>(flags.Int("cpu", 1)));

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 << 10);

  int64_t done = 0, created = 0;
  const uint64_t t0 = perfwire::bench::MonotonicNs();
  while (done < handoffs) {
    Ring ring;
    ring.slots = std::vector<Slot>(static_cast<size_t>(nthreads));
    ring.laps = laps;
    std::vector<Member> members(static_cast<size_t>(nthreads));
    std::vector<pthread_t> tids(static_cast<size_t>(nthreads));
    for (size_t i = 0; i < members.size(); ++i) {
      members[i] = {&ring, i};
      if (pthread_create(&tids[i], &attr, RunMember, &members[i]) != 0) {
        std::perror("pthread_create");
        return 1;
      }
      ++created;
    }
    ring.slots[0].token.store(1, std::memory_order_release);
    Futex(&ring.slots[0].token, FUTEX_WAKE, 1);
    for (pthread_t t : tids) pthread_join(t, nullptr);
    done += nthreads * laps;
  }
  const uint64_t t1 = perfwire::bench::MonotonicNs();
  std::printf(
      "ns_per_handoff=%.2f handoffs=%lld threads_created=%lld seconds=%.3f\n",
      static_cast<double>(t1 - t0) / static_cast<double>(done),
      static_cast<long long>(done), static_cast<long long>(created),
      static_cast<double>(t1 - t0) / 1e9);
  return 0;
}
