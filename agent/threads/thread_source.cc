#include "agent/threads/thread_source.h"

#include <bpf/libbpf.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <bit>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "agent/kernelfs/file_errors.h"
#include "agent/kernelfs/kernel_fs.h"
#include "agent/kernelfs/numbers.h"
#include "agent/log.h"
#include "agent/threads/thread_section.h"
#include "base/clock.h"
#include "perfwire_generated.h"

namespace perfwire {
namespace {

constexpr char kSourceName[] = "threads";

}  // namespace

uint32_t ReadPidMax(const std::string& proc_root) {
  std::string text;
  uint64_t v = 0;
  if (!KernelFs(proc_root).ReadProc("/sys/kernel/pid_max", text).ok() ||
      !CheckNotTruncated("pid_max", text).ok() ||
      !ParseU64(absl::StripTrailingAsciiWhitespace(text), v) || v == 0) {
    return 32768;
  }
  return static_cast<uint32_t>(std::min<uint64_t>(v, 1u << 22));
}

namespace {
constexpr uint64_t kExitSlotBytes =
    sizeof(pw_thread_sample) + sizeof(pw_thread_final);
}  // namespace

uint32_t ExitBufferBytesFor(uint32_t max_threads) {
  // Rounded down: the pages the agent has read stay in its RSS.
  const uint64_t want = uint64_t{max_threads} * kExitSlotBytes;
  const uint64_t pow2 = std::bit_floor(std::max<uint64_t>(want, 1));
  return static_cast<uint32_t>(
      std::clamp<uint64_t>(pow2, 256u << 10, 16u << 20));
}

uint32_t ExitSlotsPerCpu(uint64_t buffer_bytes, uint32_t cpus) {
  const uint64_t per_cpu = buffer_bytes / (std::max(cpus, 1u) * kExitSlotBytes);
  return static_cast<uint32_t>(
      std::bit_floor(std::clamp<uint64_t>(per_cpu, 64, 1u << 24)));
}

ThreadSource::ThreadSource(ThreadSourceOptions options)
    : options_(std::move(options)) {
  status_.name = kSourceName;
}

absl::Status ThreadSource::Start() {
  absl::Status s = StartBpf();
  if (!s.ok()) {
    status_.available = false;
    status_.reason = std::string(s.message());
    if (options_.require_bpf) return s;
    StartProcfs(s);
  }
  // Baseline: threads older than the agent count from this sighting.
  s = backend_->ForEachLiveThread(
      [this](const ThreadSample& t) { table_->ObserveLive(t); });
  if (!s.ok()) MarkBroken(status_, s);
  return s;
}

absl::Status ThreadSource::StartBpf() {
  ThreadBpfOptions bpf_options;
  bpf_options.agent_tgid = static_cast<uint32_t>(getpid());
  bpf_options.snapshot = options_.snapshot;
  bpf_options.exit_last_slice = options_.exit_last_slice;
  bpf_options.max_threads = options_.max_threads
                                ? options_.max_threads
                                : ReadPidMax(options_.proc_root);
  const int cpus = libbpf_num_possible_cpus();
  bpf_options.exit_slots_per_cpu = ExitSlotsPerCpu(
      options_.exit_buffer_bytes ? options_.exit_buffer_bytes
                                 : ExitBufferBytesFor(bpf_options.max_threads),
      cpus > 0 ? static_cast<uint32_t>(cpus) : 1);
  // Threads born from here on are counted from zero (BPF start times are
  // CLOCK_MONOTONIC).
  table_.emplace(MonotonicNs());
  exits_.emplace(kExitFinalWaitNs, options_.exit_last_slice);
  auto bpf = ThreadBpf::Open(bpf_options);
  if (!bpf.ok()) return bpf.status();
  bpf_ = bpf->get();
  backend_ = std::move(*bpf);
  ProcfsThreadBackendOptions gap;
  gap.proc_root = options_.proc_root;
  gap.only_pid = 1;
  init_gap_ = std::make_unique<ProcfsThreadBackend>(gap);
  status_.available = true;
  status_.hook = bpf_->hook();
  status_.reason = absl::StrCat(
      bpf_->snapshot_mechanism(),
      " each interval (threads that ran since the last; all of them every ",
      ThreadBpf::kFullSnapshotEvery, ") + ",
      options_.exit_last_slice ? "sched_process_exit/free"
                               : "sched_process_exit",
      " (", bpf_->hook(), "); block IO via block_bio_queue; capacity ",
      bpf_options.max_threads, " threads, exit rings of ",
      bpf_options.exit_slots_per_cpu, " records per CPU");
  if (!bpf_->load_failures().empty()) {
    // Worth a line: the fallback costs more per thread.
    LogInfo(absl::StrCat("threads: using ", bpf_->snapshot_mechanism(), " (",
                         bpf_->load_failures(), ")"));
  }
  return absl::OkStatus();
}

namespace {

// The gist of a BPF load error: libbpf's own log lines, which the error
// quotes for every attempt, stop at the first (they are logged in full).
absl::string_view Gist(absl::string_view error) {
  const size_t libbpf = error.find(" libbpf: ");
  return libbpf == absl::string_view::npos ? error : error.substr(0, libbpf);
}

}  // namespace

void ThreadSource::StartProcfs(const absl::Status& bpf_error) {
  LogInfo(absl::StrCat("threads: BPF refused: ", bpf_error.message()));
  ProcfsThreadBackendOptions o;
  o.proc_root = options_.proc_root;
  o.skip_pid = static_cast<uint32_t>(getpid());
  backend_ = std::make_unique<ProcfsThreadBackend>(o);
  // /proc start times are clock ticks since boot (CLOCK_BOOTTIME).
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  table_.emplace(static_cast<uint64_t>(ts.tv_sec) * 1000000000ull +
                 static_cast<uint64_t>(ts.tv_nsec));
  // Exits are known only as "gone since the last poll": no final to wait
  // for.
  exits_.emplace(kExitFinalWaitNs, /*finals_expected=*/false);
  saw_init_process_ = true;  // every process is read from /proc anyway
  status_.available = true;
  status_.hook = backend_->hook();
  status_.reason = absl::StrCat(
      "BPF refused (", Gist(bpf_error.message()), "); polling ",
      options_.proc_root,
      "/<pid>/task/<tid>/{stat,status,schedstat,io} each interval instead: "
      "threads shorter than an interval are not seen and a thread's last "
      "moments before exit are lost, no run-queue or lock waits, no block "
      "IO per thread, read/write bytes only where io is readable; cost per "
      "thread: see docs/BENCHMARKS.md; --require_bpf refuses to run "
      "instead");
  LogWarning(absl::StrCat("threads: ", status_.reason));
}

int ThreadSource::wakeup_fd() const {
  return backend_ ? backend_->exit_wakeup_fd() : -1;
}

absl::Status ThreadSource::DrainExitRing() {
  const uint64_t now = MonotonicNs();
  return backend_->DrainExits(
      [&](const ThreadSample& t) {
        exits_->AddExit(t, now);
        table_->NoteExiting(t.tid, t.start_time_ns);
      },
      [&](const ThreadFinal& f) { exits_->AddFinal(f, now); });
}

void ThreadSource::OnWakeup() {
  if (!status_.available) return;
  absl::Status s = DrainExitRing();
  if (!s.ok()) MarkBroken(status_, s);
}

void ThreadSource::Collect(flatbuffers::FlatBufferBuilder& fbb,
                           FrameSections& sections) {
  bool saw_init = false;
  absl::Status s = backend_->ForEachLiveThread([&](const ThreadSample& t) {
    saw_init |= t.pid == 1;
    table_->ObserveLive(t);
  });
  // A partial snapshot leaves pid 1 out when it has not run: keep what the
  // last full one said.
  const bool full = backend_->last_snapshot_full();
  saw_init_process_ = full ? saw_init : saw_init_process_ || saw_init;
  // Exits after the iteration, so a thread sampled live and gone since
  // reports its last counts in this frame.
  if (s.ok()) s = DrainExitRing();
  if (!s.ok()) return MarkBroken(status_, s);
  std::vector<ThreadSample> exited =
      exits_->TakeReady(MonotonicNs(), /*flush=*/stopping_);
  // Like a failed iteration, a failed block_io read stops the source.
  s = backend_->TakeBlockIoOfExited(exited);
  for (const ThreadSample& t : exited) table_->ObserveExit(t);
  if (!s.ok()) return MarkBroken(status_, s);
  if (!saw_init_process_ && init_gap_) ObserveInitProcessFromProc();

  const std::vector<ThreadDelta> deltas = table_->EndInterval(full);
  sections.Set(fb::Frame::VT_THREADS, BuildThreadsSection(fbb, deltas));

  using Agent = fb::AgentStats;
  sections.AddAgentCount(Agent::VT_THREAD_COUNT, table_->tracked_count());
  sections.AddLoss(Agent::VT_VANISHED_THREAD_COUNT,
                   table_->TakeVanishedCount());
  sections.AddAgentCount(Agent::VT_EXIT_WITHOUT_FINAL_COUNT,
                         exits_->TakeWithoutFinalCount());
  auto lost = backend_->ReadLost();
  if (lost.ok()) {
    sections.AddLoss(Agent::VT_LOST_EXIT_RECORD_COUNT,
                     lost->exit_records - last_lost_.exit_records);
    sections.AddLoss(Agent::VT_LOST_BLOCK_IO_COUNT,
                     lost->block_io - last_lost_.block_io);
    last_lost_ = *lost;
  }
}

}  // namespace perfwire
