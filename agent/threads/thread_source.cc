#include "agent/threads/thread_source.h"

#include <bpf/libbpf.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "agent/log.h"
#include "agent/threads/thread_section.h"
#include "base/clock.h"
#include "perfwire_generated.h"

namespace perfwire {
namespace {

constexpr char kSourceName[] = "threads";

}  // namespace

uint32_t ReadPidMax(const std::string& proc_root) {
  std::ifstream in(proc_root + "/sys/kernel/pid_max");
  uint64_t v = 0;
  if (!(in >> v) || v == 0) return 32768;
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
    : options_(std::move(options)),
      exits_(kExitFinalWaitNs, options_.exit_last_slice) {
  status_.name = kSourceName;
}

absl::Status ThreadSource::Start() {
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
  // Threads born from here on are counted from zero.
  table_.emplace(MonotonicNs());
  auto bpf = ThreadBpf::Open(bpf_options);
  if (!bpf.ok()) {
    status_.available = false;
    status_.reason = std::string(bpf.status().message());
    return bpf.status();
  }
  bpf_ = std::move(*bpf);
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
  // Baseline: threads older than the agent count from this sighting.
  absl::Status s = bpf_->ForEachLiveThread(
      [this](const ThreadSample& t) { table_->ObserveLive(t); });
  if (!s.ok()) MarkBroken(s);
  return s;
}

void ThreadSource::MarkBroken(const absl::Status& error) {
  LogError(absl::StrCat("threads source stopped: ", error.message()));
  status_.available = false;
  status_.reason = std::string(error.message());
}

int ThreadSource::wakeup_fd() const {
  return bpf_ ? bpf_->exit_wakeup_fd() : -1;
}

absl::Status ThreadSource::DrainExitRing() {
  const uint64_t now = MonotonicNs();
  return bpf_->DrainExits(
      [&](const ThreadSample& t) {
        exits_.AddExit(t, now);
        table_->NoteExiting(t.tid, t.start_time_ns);
      },
      [&](const ThreadFinal& f) { exits_.AddFinal(f, now); });
}

void ThreadSource::OnWakeup() {
  if (!status_.available) return;
  absl::Status s = DrainExitRing();
  if (!s.ok()) MarkBroken(s);
}

void ThreadSource::Collect(flatbuffers::FlatBufferBuilder& fbb,
                           FrameSections& sections) {
  bool saw_init = false;
  absl::Status s = bpf_->ForEachLiveThread([&](const ThreadSample& t) {
    saw_init |= t.pid == 1;
    table_->ObserveLive(t);
  });
  // A partial snapshot leaves pid 1 out when it has not run: keep what the
  // last full one said.
  const bool full = bpf_->last_snapshot_full();
  saw_init_process_ = full ? saw_init : saw_init_process_ || saw_init;
  // Exits after the iteration, so a thread sampled live and gone since
  // reports its last counts in this frame.
  if (s.ok()) s = DrainExitRing();
  if (!s.ok()) return MarkBroken(s);
  std::vector<ThreadSample> exited =
      exits_.TakeReady(MonotonicNs(), /*flush=*/stopping_);
  // Like a failed iteration, a failed block_io read stops the source.
  s = bpf_->TakeBlockIoOfExited(exited);
  for (const ThreadSample& t : exited) table_->ObserveExit(t);
  if (!s.ok()) return MarkBroken(s);
  if (!saw_init_process_) ObserveInitProcessFromProc();

  const std::vector<ThreadDelta> deltas = table_->EndInterval(full);
  sections.Set(fb::Frame::VT_THREADS, BuildThreadsSection(fbb, deltas));

  using Agent = fb::AgentStats;
  sections.AddAgentCount(Agent::VT_THREAD_COUNT, table_->tracked_count());
  sections.AddLoss(Agent::VT_VANISHED_THREAD_COUNT,
                   table_->TakeVanishedCount());
  sections.AddAgentCount(Agent::VT_EXIT_WITHOUT_FINAL_COUNT,
                         exits_.TakeWithoutFinalCount());
  auto lost = bpf_->ReadLost();
  if (lost.ok()) {
    sections.AddLoss(Agent::VT_LOST_EXIT_RECORD_COUNT,
                     lost->exit_records - last_lost_.exit_records);
    sections.AddLoss(Agent::VT_LOST_BLOCK_IO_COUNT,
                     lost->block_io - last_lost_.block_io);
    last_lost_ = *lost;
  }
}

}  // namespace perfwire
