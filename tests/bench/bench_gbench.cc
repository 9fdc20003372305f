// Google Benchmark for the agent's user-space hot path per frame:
// ThreadTable delta computation (ObserveLive x N + EndInterval) and frame
// building (BuildThreadsSection + finishing a Frame) for N threads.
// Budget (PERFORMANCE.md): frame build for 10,000 threads <= 5 ms.
// Also the /proc thread backend's sweep over this process's idle threads
// (the fallback where BPF is refused): BM_ProcfsSweep/<threads>/<kept>,
// kept=1 with each schedstat file kept open (an idle thread costs one
// pread), kept=0 reading all four files of every thread.
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include "agent/threads/procfs_thread_backend.h"
#include "agent/threads/thread_section.h"
#include "agent/threads/thread_table.h"

namespace perfwire {
namespace {

std::vector<ThreadSample> MakeSamples(int n) {
  std::vector<ThreadSample> samples(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    ThreadSample& s = samples[static_cast<size_t>(i)];
    s.tid = static_cast<uint32_t>(1000 + i);
    s.pid = static_cast<uint32_t>(1000 + (i / 8) * 8);
    s.start_time_ns = 1'000'000'000ull + static_cast<uint64_t>(i) * 1000;
    s.cgroup_id = 4242;
    std::snprintf(s.comm.data(), s.comm.size(), "worker-%d", i % 1000);
    s.counters.on_cpu_ns = 1'000'000;
    s.counters.voluntary_switch_count = 10;
  }
  return samples;
}

void Advance(std::vector<ThreadSample>& samples) {
  for (ThreadSample& s : samples) {
    s.counters.on_cpu_ns += 12345;
    s.counters.voluntary_switch_count += 3;
    s.counters.involuntary_switch_count += 1;
    s.counters.minor_fault_count += 7;
    s.counters.read_bytes += 4096;
  }
}

// One interval of delta computation: every thread changed.
void BM_ThreadTableInterval(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::vector<ThreadSample> samples = MakeSamples(n);
  ThreadTable table(/*watch_start_ns=*/0);
  for (const auto& s : samples) table.ObserveLive(s);
  table.EndInterval();
  size_t out = 0;
  for (auto _ : state) {
    state.PauseTiming();
    Advance(samples);
    state.ResumeTiming();
    for (const auto& s : samples) table.ObserveLive(s);
    std::vector<ThreadDelta> deltas = table.EndInterval();
    out = deltas.size();
    benchmark::DoNotOptimize(deltas.data());
  }
  state.counters["changed"] = static_cast<double>(out);
  state.counters["n"] = n;
}
BENCHMARK(BM_ThreadTableInterval)
    ->Arg(2000)
    ->Arg(10000)
    ->Unit(benchmark::kMicrosecond);

// One interval where nothing changed (idle threads): the common case.
void BM_ThreadTableIdleInterval(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::vector<ThreadSample> samples = MakeSamples(n);
  ThreadTable table(0);
  for (const auto& s : samples) table.ObserveLive(s);
  table.EndInterval();
  for (auto _ : state) {
    for (const auto& s : samples) table.ObserveLive(s);
    benchmark::DoNotOptimize(table.EndInterval());
  }
  state.counters["n"] = n;
}
BENCHMARK(BM_ThreadTableIdleInterval)
    ->Arg(10000)
    ->Unit(benchmark::kMicrosecond);

// Frame build: threads section for N deltas plus a finished, size-prefixed
// Frame.
void BM_BuildFrame(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::vector<ThreadSample> samples = MakeSamples(n);
  ThreadTable table(0);
  for (const auto& s : samples) table.ObserveLive(s);
  table.EndInterval();
  Advance(samples);
  for (const auto& s : samples) table.ObserveLive(s);
  const std::vector<ThreadDelta> deltas = table.EndInterval();
  flatbuffers::FlatBufferBuilder fbb(1 << 20);
  size_t bytes = 0;
  for (auto _ : state) {
    fbb.Clear();
    const auto threads = BuildThreadsSection(fbb, deltas);
    fb::FrameBuilder frame(fbb);
    frame.add_seq(1);
    frame.add_threads(threads);
    fbb.FinishSizePrefixed(frame.Finish(), fb::FrameIdentifier());
    bytes = fbb.GetSize();
    benchmark::DoNotOptimize(fbb.GetBufferPointer());
  }
  state.counters["frame_bytes"] = static_cast<double>(bytes);
  state.counters["n"] = static_cast<double>(deltas.size());
}
BENCHMARK(BM_BuildFrame)
    ->Arg(2000)
    ->Arg(10000)
    ->Arg(20000)
    ->Unit(benchmark::kMicrosecond);

// Delta computation and frame build together: the user-space cost of one frame.
void BM_IntervalAndFrame(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::vector<ThreadSample> samples = MakeSamples(n);
  ThreadTable table(0);
  for (const auto& s : samples) table.ObserveLive(s);
  table.EndInterval();
  flatbuffers::FlatBufferBuilder fbb(1 << 20);
  for (auto _ : state) {
    state.PauseTiming();
    Advance(samples);
    state.ResumeTiming();
    for (const auto& s : samples) table.ObserveLive(s);
    const std::vector<ThreadDelta> deltas = table.EndInterval();
    fbb.Clear();
    const auto threads = BuildThreadsSection(fbb, deltas);
    fb::FrameBuilder frame(fbb);
    frame.add_threads(threads);
    fbb.FinishSizePrefixed(frame.Finish(), fb::FrameIdentifier());
    benchmark::DoNotOptimize(fbb.GetBufferPointer());
  }
  state.counters["n"] = n;
}
BENCHMARK(BM_IntervalAndFrame)->Arg(10000)->Unit(benchmark::kMicrosecond);

// `n` threads of this process that wait, idle, until destruction.
class IdleThreads {
 public:
  explicit IdleThreads(int n) {
    for (int i = 0; i < n; ++i) {
      threads_.emplace_back([this] {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return done_; });
      });
    }
  }
  ~IdleThreads() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::vector<std::thread> threads_;
};

void BM_ProcfsSweep(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const bool kept = state.range(1) != 0;
  // A kept file is an fd: allow one per thread.
  rlimit r{};
  getrlimit(RLIMIT_NOFILE, &r);
  r.rlim_cur = r.rlim_max;
  setrlimit(RLIMIT_NOFILE, &r);
  IdleThreads threads(n);
  ProcfsThreadBackendOptions o;
  o.only_pid = static_cast<uint32_t>(getpid());
  o.max_kept_files = kept ? static_cast<uint32_t>(n + 64) : 1;
  ProcfsThreadBackend backend(o);
  size_t seen = 0;
  auto count = [&seen](const ThreadSample&) { ++seen; };
  if (!backend.ForEachLiveThread(count).ok()) {
    state.SkipWithError("cannot read /proc/self/task");
    return;
  }
  for (auto _ : state) {
    seen = 0;
    backend.ForEachLiveThread(count).IgnoreError();
  }
  state.counters["n"] = static_cast<double>(seen);
  state.counters["full_reads"] = static_cast<double>(backend.last_full_reads());
}
BENCHMARK(BM_ProcfsSweep)
    ->Args({2000, 1})
    ->Args({2000, 0})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace perfwire

BENCHMARK_MAIN();
