// The contention source against the real kernel: workloads whose waits are
// known by construction (tests/workloads/contention_workload.cc), checked
// against the kernel's own accounting (/proc/<tid>/schedstat) and against the
// verdict the same numbers give.
//
// These run the BPF in-process (ContentionBpf, as the agent does), so they
// test what the kernel side counts; contention_cli_test.cc runs the agent and
// `perfwire contention` end to end.
//
// The machine is shared: a "spinning alone" thread may still wait for a CPU.
// Every verdict is therefore checked two ways: ours must equal the verdict of
// the kernel's own numbers (truth), and the by-construction verdict is
// required whenever truth agrees with it.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "agent/contention/contention_bpf.h"
#include "clients/lib/contention_verdict.h"
#include "tests/integration/harness.h"

namespace perfwire::testing {
namespace {

struct ThreadSum {
  pw_ct_counters c{};
  uint64_t rows = 0;
  uint64_t exits = 0;
};

// Polls the BPF side every 100 ms on its own thread and sums what it reads.
class ContentionPoller {
 public:
  explicit ContentionPoller(bool force_raw_tp = false,
                            bool free_fallback = true) {
    ContentionBpfOptions o;
    o.agent_tgid = static_cast<uint32_t>(getpid());
    o.force_raw_tp = force_raw_tp;
    o.free_fallback = free_fallback;
    o.futex_syscalls = true;  // the mutex test checks the syscall view too
    auto bpf = ContentionBpf::Open(o);
    if (!bpf.ok()) {
      error_ = std::string(bpf.status().message());
      return;
    }
    bpf_ = std::move(*bpf);
    std::vector<DiskLatencyTotals> disks;
    (void)bpf_->ReadDisks(&disks);
    for (const auto &d : disks) disk_base_[d.dev] = d;
    thread_ = std::thread([this] {
      while (!stop_) {
        Poll();
        usleep(100 * 1000);
      }
      Poll();
    });
  }
  ~ContentionPoller() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  const std::string &error() const { return error_; }
  const ContentionBpf &bpf() const { return *bpf_; }

  std::map<uint32_t, ThreadSum> threads() {
    absl::MutexLock l(&mu_);
    return threads_;
  }
  std::map<std::pair<uint32_t, uint32_t>, uint64_t> edges() {
    absl::MutexLock l(&mu_);
    return edges_;
  }
  // Per-disk deltas since construction.
  std::vector<DiskLatencyTotals> disks() {
    std::vector<DiskLatencyTotals> now, out;
    (void)bpf_->ReadDisks(&now);
    for (auto d : now) {
      auto it = disk_base_.find(d.dev);
      if (it != disk_base_.end()) {
        d.request_count -= it->second.request_count;
        d.latency_total_ns -= it->second.latency_total_ns;
        for (size_t i = 0; i < d.hist.size(); ++i)
          d.hist[i] -= it->second.hist[i];
      }
      out.push_back(d);
    }
    return out;
  }

 private:
  void Poll() {
    auto add = [this](const ThreadContentionDelta &d)
                   ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
                     ThreadSum &s = threads_[d.tid];
                     auto *a = reinterpret_cast<uint64_t *>(&s.c);
                     const auto *b =
                         reinterpret_cast<const uint64_t *>(&d.delta);
                     for (size_t i = 0; i < PW_CT_COUNTER_WORDS; ++i)
                       a[i] += b[i];
                     ++s.rows;
                     s.exits += d.exited;
                   };
    std::vector<WakeEdgeCount> e;
    absl::MutexLock l(&mu_);
    (void)bpf_->ForEachThreadDelta(add);
    (void)bpf_->DrainExits(add);
    (void)bpf_->TakeWakeEdges(&e);
    for (const auto &x : e) edges_[{x.waker_tid, x.wakee_tid}] += x.count;
  }

  std::unique_ptr<ContentionBpf> bpf_;
  std::string error_;
  std::map<uint32_t, DiskLatencyTotals> disk_base_;
  absl::Mutex mu_;
  std::map<uint32_t, ThreadSum> threads_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<uint32_t, uint32_t>, uint64_t> edges_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct WorkloadRun {
  std::vector<std::map<std::string, std::string>> truths;
  int exit_code = -1;
};

// Runs the workload to completion and lets the poller see the exits
// (sched_process_free comes one RCU grace period after the exit).
WorkloadRun RunWorkload(const std::vector<std::string> &args) {
  Child child(WorkloadPath("contention_workload"), args);
  WorkloadRun run;
  std::string rest;
  run.exit_code = child.Finish(&rest);
  for (absl::string_view line : absl::StrSplit(rest, '\n')) {
    if (absl::StartsWith(line, "truth "))
      run.truths.push_back(ParseFields(std::string(line)));
  }
  usleep(500 * 1000);
  return run;
}

// The kernel's own view of a truth line as a breakdown: on-CPU and
// run-queue wait from schedstat, the named call's time minus its share of
// run-queue wait as the mode's wait, the rest asleep.
WaitBreakdown TruthBreakdown(const std::map<std::string, std::string> &t,
                             const char *wait_kind) {
  WaitBreakdown b;
  b.window_ns = Field(t, "wall_ns");
  b.on_cpu_ns = Field(t, "on_cpu_ns");
  b.run_queue_ns = Field(t, "run_delay_ns");
  const uint64_t accounted = b.on_cpu_ns + b.run_queue_ns;
  const uint64_t rest = b.window_ns > accounted ? b.window_ns - accounted : 0;
  if (std::string(wait_kind) == "lock") b.lock_ns = rest;
  if (std::string(wait_kind) == "io") b.io_ns = rest;
  if (std::string(wait_kind) == "sleep") b.sleep_ns = rest;
  return b;
}

WaitBreakdown Ours(const ThreadSum &s,
                   const std::map<std::string, std::string> &t) {
  WaitBreakdown b;
  b.window_ns = Field(t, "wall_ns");
  b.on_cpu_ns = Field(
      t, "on_cpu_ns");  // the threads source's figure, same kernel counter
  b.run_queue_ns = s.c.run_queue_wait_ns;
  b.lock_ns = s.c.futex_sleep_ns + s.c.lock_sleep_ns;
  b.io_ns = s.c.io_sleep_ns;
  b.sleep_ns = s.c.other_sleep_ns;
  return b;
}

// Ours equals truth's verdict; the constructed verdict whenever truth agrees.
void ExpectVerdict(const ThreadSum &s,
                   const std::map<std::string, std::string> &t,
                   const char *wait_kind, Verdict constructed) {
  const Judgement ours = Judge(Ours(s, t));
  const Judgement truth = Judge(TruthBreakdown(t, wait_kind));
  EXPECT_EQ(VerdictName(ours.verdict), VerdictName(truth.verdict))
      << "ours: " << ours.reason << "\ntruth: " << truth.reason;
  if (truth.verdict == constructed) {
    EXPECT_EQ(VerdictName(ours.verdict), VerdictName(constructed))
        << ours.reason;
  } else {
    std::cerr << "note: busy machine, truth for tid " << t.at("tid") << " is "
              << VerdictName(truth.verdict) << " (" << truth.reason << "), not "
              << VerdictName(constructed) << "\n";
  }
  std::cerr << "tid " << t.at("tid") << ": " << VerdictName(ours.verdict)
            << ": " << ours.reason << "\n";
}

class ContentionTest : public ::testing::Test {
 public:
  void SetUp() override {
    PERFWIRE_REQUIRE_BPF();
    poller_ = std::make_unique<ContentionPoller>();
    ASSERT_EQ(poller_->error(), "");
  }
  // The poller's sums once every workload thread's final record is in (only
  // for workloads whose threads always have something new at exit). It
  // comes at the thread's final switch-out, or, when an iterator held its
  // state then, from sched_process_free, one RCU grace period later, which
  // lazy RCU may batch for seconds on a quiet machine: wait (bounded).
  std::map<uint32_t, ThreadSum> ThreadsAfterExits(const WorkloadRun &run) {
    std::map<uint32_t, ThreadSum> threads;
    for (int i = 0; i < 150; ++i) {
      threads = poller_->threads();
      bool all = true;
      for (const auto &t : run.truths) {
        auto it = threads.find(static_cast<uint32_t>(Field(t, "tid")));
        all = all && it != threads.end() && it->second.exits > 0;
      }
      if (all) break;
      usleep(100 * 1000);
    }
    return threads;
  }
  std::unique_ptr<ContentionPoller> poller_;
};

// 4 spinners pinned to one CPU: each waits ~3/4 of the time in the run
// queue, and ours is the kernel's run_delay (schedstat field 2).
void ExpectPinnedSpinnersMatchSchedstat(ContentionTest &test) {
  WorkloadRun run = RunWorkload(
      {"--mode=pinned", "--threads=4", "--cpu=0", "--duration-ms=3000"});
  ASSERT_EQ(run.exit_code, 0);
  ASSERT_EQ(run.truths.size(), 4u);
  auto threads = test.ThreadsAfterExits(run);
  for (const auto &t : run.truths) {
    const uint32_t tid = static_cast<uint32_t>(Field(t, "tid"));
    ASSERT_TRUE(threads.count(tid)) << "no contention rows for tid " << tid;
    const ThreadSum &s = threads[tid];
    EXPECT_EQ(s.exits, 1u) << "the thread's final record must arrive";
    const double truth = static_cast<double>(Field(t, "run_delay_ns"));
    const double ours = static_cast<double>(s.c.run_queue_wait_ns);
    std::cerr << "tid " << tid << " run queue ours " << ours / 1e6
              << " ms, schedstat " << truth / 1e6 << " ms, error "
              << (ours / truth - 1) * 100 << "%\n";
    // Ours runs to the thread's exit; schedstat was read just before it.
    EXPECT_NEAR(ours / truth, 1.0, 0.02);
    EXPECT_GT(ours / static_cast<double>(Field(t, "wall_ns")),
              0.5);  // ~3/4 by construction
    uint64_t hist = 0;
    for (uint64_t n : s.c.run_queue_wait_hist) hist += n;
    // Every switch-in the kernel counted is in the histogram, unless its
    // settling could not reach the thread's state: task storage refuses
    // access on a CPU where a task-storage operation was preempted (the
    // kernel's recursion guard), or the switch-out went unseen (the CPU's
    // slot names another thread at the next switch); each is counted as lost.
    auto lost = test.poller_->bpf().ReadLost();
    ASSERT_TRUE(lost.ok()) << lost.status();
    EXPECT_LE(hist, s.c.run_queue_wait_count);
    EXPECT_LE(s.c.run_queue_wait_count - hist, lost->state)
        << "hist " << hist << ", count " << s.c.run_queue_wait_count;
    ExpectVerdict(s, t, "sleep", Verdict::kCpuStarved);
  }
}

TEST_F(ContentionTest, PinnedSpinnersWaitInRunQueueAsSchedstatSays) {
  ExpectPinnedSpinnersMatchSchedstat(*this);
}

// The raw_tp fallback (kernels without tp_btf) counts the same.
TEST_F(ContentionTest, RawTpFallbackMatchesSchedstat) {
  poller_ = std::make_unique<ContentionPoller>(/*force_raw_tp=*/true);
  ASSERT_EQ(poller_->error(), "");
  ASSERT_EQ(poller_->bpf().hook(), "raw_tp");
  ExpectPinnedSpinnersMatchSchedstat(*this);
}

// Every thread's last delta goes out at its final switch-out, which every
// exit has; sched_process_free (skipped by this kernel for ~0.1% of exits)
// is only the fallback. Without it, the exits must all still arrive whole.
TEST_F(ContentionTest, ExitRecordsComeFromTheFinalSwitchOut) {
  poller_ = std::make_unique<ContentionPoller>(/*force_raw_tp=*/false,
                                               /*free_fallback=*/false);
  ASSERT_EQ(poller_->error(), "");
  ExpectPinnedSpinnersMatchSchedstat(*this);
}

TEST_F(ContentionTest, RawTpExitRecordsComeFromTheFinalSwitchOut) {
  poller_ = std::make_unique<ContentionPoller>(/*force_raw_tp=*/true,
                                               /*free_fallback=*/false);
  ASSERT_EQ(poller_->error(), "");
  ExpectPinnedSpinnersMatchSchedstat(*this);
}

TEST_F(ContentionTest, EightThreadsOnOneMutexAreLockBound) {
  WorkloadRun run =
      RunWorkload({"--mode=mutex", "--threads=8", "--duration-ms=3000"});
  ASSERT_EQ(run.exit_code, 0);
  ASSERT_EQ(run.truths.size(), 8u);
  auto threads = poller_->threads();
  for (const auto &t : run.truths) {
    const uint32_t tid = static_cast<uint32_t>(Field(t, "tid"));
    ASSERT_TRUE(threads.count(tid));
    const ThreadSum &s = threads[tid];
    const uint64_t in_lock = Field(t, "call_ns");
    // Blocked in futex only inside pthread_mutex_lock: never more than the
    // time spent in it; at least that time minus all run-queue wait.
    EXPECT_LE(s.c.futex_sleep_ns, in_lock * 1.01);
    EXPECT_GE(s.c.futex_sleep_ns + s.c.run_queue_wait_ns, in_lock * 0.9);
    EXPECT_GT(s.c.futex_sleep_count, 0u);
    // The syscall view (sys_enter/exit) brackets the blocked time.
    EXPECT_GE(s.c.futex_wait_ns, s.c.futex_sleep_ns);
    EXPECT_LE(s.c.futex_wait_ns, in_lock * 1.01);
    EXPECT_LT(s.c.other_sleep_ns, in_lock / 10);
    ExpectVerdict(s, t, "lock", Verdict::kLockBound);
  }
}

TEST_F(ContentionTest, DirectWriterIsIoBoundAndMatchesBlockLatency) {
  WorkloadRun run =
      RunWorkload({"--mode=direct_io", "--duration-ms=3000", "--dir=/var/tmp"});
  if (run.exit_code == 3 || run.exit_code == 4)
    GTEST_SKIP() << "/var/tmp takes no O_DIRECT";
  ASSERT_EQ(run.exit_code, 0);
  ASSERT_EQ(run.truths.size(), 1u);
  const auto &t = run.truths[0];
  auto threads = poller_->threads();
  const ThreadSum &s = threads[static_cast<uint32_t>(Field(t, "tid"))];
  const uint64_t writes = Field(t, "calls");
  ASSERT_GT(writes, 10u);
  EXPECT_GE(s.c.io_sleep_count,
            writes * 9 / 10);  // one IO sleep per O_DSYNC write
  EXPECT_LE(s.c.io_sleep_ns, Field(t, "call_ns"));

  const DiskLatencyTotals *vda = nullptr;
  auto disks = poller_->disks();
  for (const auto &d : disks) {
    if (!vda || d.request_count > vda->request_count) vda = &d;
  }
  ASSERT_NE(vda, nullptr);
  ASSERT_GE(vda->request_count, writes);
  // Each IO sleep covers one request's issue -> complete, plus the wakeup:
  // the mean sleep lies between the histogram's p10 slot floor and twice its
  // p99.
  const double mean_sleep =
      static_cast<double>(s.c.io_sleep_ns) / s.c.io_sleep_count;
  const double p10 =
      HistogramPercentileNs(vda->hist.data(), vda->hist.size(), 0.10);
  const double p99 =
      HistogramPercentileNs(vda->hist.data(), vda->hist.size(), 0.99);
  std::cerr << "io sleep mean " << mean_sleep / 1e3 << " us over "
            << s.c.io_sleep_count << "; " << vda->name << " requests "
            << vda->request_count << ", mean "
            << vda->latency_total_ns / 1e3 / vda->request_count << " us, p10 "
            << p10 / 1e3 << " us, p99 " << p99 / 1e3 << " us\n";
  EXPECT_GE(mean_sleep, p10 / 2);
  EXPECT_LE(mean_sleep, p99 * 2);
  // IO wait can't exceed the device's total latency over the same time.
  EXPECT_LE(static_cast<double>(s.c.io_sleep_ns), vda->latency_total_ns * 1.1);
  ExpectVerdict(s, t, "io", Verdict::kIoBound);
}

TEST_F(ContentionTest, TimerSleeperIsIdle) {
  WorkloadRun run =
      RunWorkload({"--mode=sleeper", "--duration-ms=2000", "--sleep-us=10000"});
  ASSERT_EQ(run.exit_code, 0);
  const auto &t = run.truths.at(0);
  auto threads = poller_->threads();
  const ThreadSum &s = threads[static_cast<uint32_t>(Field(t, "tid"))];
  EXPECT_GT(s.c.other_sleep_ns, Field(t, "wall_ns") * 8 / 10);
  EXPECT_EQ(s.c.futex_sleep_ns + s.c.io_sleep_ns + s.c.lock_sleep_ns, 0u);
  ExpectVerdict(s, t, "sleep", Verdict::kIdle);
}

TEST_F(ContentionTest, LoneSpinnerIsCpuBound) {
  WorkloadRun run = RunWorkload({"--mode=spinner", "--duration-ms=2000"});
  ASSERT_EQ(run.exit_code, 0);
  const auto &t = run.truths.at(0);
  auto threads = poller_->threads();
  const ThreadSum &s = threads[static_cast<uint32_t>(Field(t, "tid"))];
  // Unpinned, the thread migrates between CPUs; the kernel closes a wait on
  // migration, and ours is still its run_delay.
  EXPECT_NEAR(static_cast<double>(s.c.run_queue_wait_ns),
              static_cast<double>(Field(t, "run_delay_ns")),
              0.02 * Field(t, "run_delay_ns") + 1e6);
  ExpectVerdict(s, t, "sleep", Verdict::kCpuBound);
}

TEST_F(ContentionTest, PipeProducerWakesConsumer) {
  const uint64_t kMessages = 1000;
  WorkloadRun run =
      RunWorkload({"--mode=pipe", "--messages=1000", "--sleep-us=1000"});
  ASSERT_EQ(run.exit_code, 0);
  uint32_t producer = 0, consumer = 0;
  for (const auto &t : run.truths) {
    (t.at("role") == "producer" ? producer : consumer) =
        static_cast<uint32_t>(Field(t, "tid"));
  }
  ASSERT_NE(producer, 0u);
  ASSERT_NE(consumer, 0u);
  auto edges = poller_->edges();
  const uint64_t forward = edges[{producer, consumer}];
  const uint64_t backward = edges[{consumer, producer}];
  std::cerr << "producer->consumer " << forward << ", consumer->producer "
            << backward << "\n";
  // The consumer blocks before each 1-byte message (the producer sleeps
  // 1 ms first), so nearly every write wakes it.
  EXPECT_GE(forward, kMessages * 9 / 10);
  EXPECT_LE(forward, kMessages);
  EXPECT_EQ(backward,
            0u);  // the pipe never fills; the producer's timer wakes it
}

// Small exit rings under thread churn (short_threads: 10,000 threads, each
// exiting at once). A drain once per interval (1 s) could take at most 16
// records per CPU and second, so nearly all arrive only if the reader is
// woken as a ring reaches half full (exit_wakeup_fd, which the agent's loop
// polls); and every exit that does not arrive is counted as lost.
TEST(ContentionExitRings, SmallRingsWakeTheReaderAndCountWhatTheyDrop) {
  PERFWIRE_REQUIRE_BPF();
  ContentionBpfOptions o;
  o.agent_tgid = static_cast<uint32_t>(getpid());
  o.exit_buffer_bytes = 16 << 10;
  auto opened = ContentionBpf::Open(o);
  ASSERT_TRUE(opened.ok()) << opened.status();
  ContentionBpf &bpf = **opened;
  ASSERT_LE(bpf.exit_slots_per_cpu(), 16u);
  auto lost_before = bpf.ReadLost();
  ASSERT_TRUE(lost_before.ok()) << lost_before.status();

  std::atomic<bool> stop{false};
  uint64_t wakeups = 0;                           // the reader's until joined
  std::set<std::pair<uint32_t, uint32_t>> exits;  // (pid, tid), likewise
  std::thread reader([&] {
    auto keep = [&](const ThreadContentionDelta &d) {
      if (d.exited) exits.insert({d.pid, d.tid});
    };
    pollfd p{bpf.exit_wakeup_fd(), POLLIN, 0};
    while (!stop) {
      if (poll(&p, 1, 1000) > 0) ++wakeups;
      (void)bpf.DrainExits(keep);
    }
    (void)bpf.DrainExits(keep);
  });
  Child child(WorkloadPath("short_threads"), {"--count=10000"});
  const uint32_t pid = static_cast<uint32_t>(child.pid());
  std::string rest;
  const int exit_code = child.Finish(&rest);
  usleep(1500 * 1000);  // sched_process_free comes a grace period later
  stop = true;
  reader.join();
  ASSERT_EQ(exit_code, 0);

  std::vector<uint32_t> shorts;
  for (absl::string_view line : absl::StrSplit(rest, '\n')) {
    if (absl::StartsWith(line, "short "))
      shorts.push_back(
          static_cast<uint32_t>(Field(ParseFields(std::string(line)), "tid")));
  }
  ASSERT_EQ(shorts.size(), 10000u);
  size_t arrived = 0;
  for (uint32_t tid : shorts) arrived += exits.count({pid, tid});
  auto lost = bpf.ReadLost();
  ASSERT_TRUE(lost.ok()) << lost.status();
  const uint64_t lost_exits = lost->exit_records - lost_before->exit_records;
  // A thread whose state could not be made sends no exit record; that is
  // counted too.
  const uint64_t lost_state = lost->state - lost_before->state;
  std::cerr << "slots per CPU " << bpf.exit_slots_per_cpu() << ", wakeups "
            << wakeups << ", arrived " << arrived << ", lost exit records "
            << lost_exits << ", lost state " << lost_state << "\n";
  EXPECT_GT(wakeups, 0u);
  EXPECT_GE(arrived + lost_exits + lost_state, shorts.size());
  EXPECT_GE(arrived, shorts.size() * 9 / 10);
}

}  // namespace
}  // namespace perfwire::testing
