#include "agent/threads/thread_bpf.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "agent/bpf/libbpf_util.h"
#include "agent/bpf/mmap_region.h"
#include "base/unique_fd.h"
#include "threads.skel.h"

namespace perfwire {

template <>
void SkeletonDeleter<threads_bpf>::operator()(threads_bpf* skel) const {
  threads_bpf__destroy(skel);
}

ThreadSample ToThreadSample(const pw_thread_sample& s) {
  ThreadSample out;
  out.tid = s.tid;
  out.pid = s.pid;
  out.start_time_ns = s.start_time_ns;
  out.cgroup_id = s.cgroup_id;
  std::memcpy(out.comm.data(), s.comm, sizeof(s.comm));
  ThreadCounters& c = out.counters;
  c.on_cpu_ns = s.on_cpu_ns;
  c.voluntary_switch_count = s.nvcsw;
  c.involuntary_switch_count = s.nivcsw;
  c.minor_fault_count = s.min_flt;
  c.major_fault_count = s.maj_flt;
  c.read_bytes = s.rchar;
  c.write_bytes = s.wchar;
  c.block_read_bytes = s.block_read_bytes;
  c.block_write_bytes = s.block_write_bytes;
  c.block_read_op_count = s.block_read_ops;
  c.block_write_op_count = s.block_write_ops;
  return out;
}

absl::StatusOr<ThreadSnapshotMode> ParseThreadSnapshotMode(
    absl::string_view name) {
  if (name == "auto") return ThreadSnapshotMode::kAuto;
  if (name == "walk") return ThreadSnapshotMode::kWalk;
  if (name == "iter") return ThreadSnapshotMode::kIterTask;
  return absl::InvalidArgumentError(absl::StrCat(
      "--thread_snapshot=", name, ": expected auto, walk or iter"));
}

ThreadFinal ToThreadFinal(const pw_thread_final& f) {
  ThreadFinal out;
  out.tid = f.tid;
  out.start_time_ns = f.start_time_ns;
  out.on_cpu_ns = f.on_cpu_ns;
  out.voluntary_switch_count = f.nvcsw;
  out.involuntary_switch_count = f.nivcsw;
  out.minor_fault_count = f.min_flt;
  out.major_fault_count = f.maj_flt;
  return out;
}

namespace {

void SetBlockIo(const pw_block_io& io, ThreadCounters& c) {
  c.block_read_bytes = io.read_bytes;
  c.block_write_bytes = io.write_bytes;
  c.block_read_op_count = io.read_ops;
  c.block_write_op_count = io.write_ops;
}

constexpr SkeletonOps<threads_bpf> kThreadsSkeleton = {
    "threads", &threads_bpf__open, &threads_bpf__load, &threads_bpf__attach};

// One load attempt: hooks of the given flavour ("tp_btf" or "raw_tp"), and
// the snapshot as the open-coded task walk or as iter/task.
absl::StatusOr<SkeletonPtr<threads_bpf>> LoadWith(
    const ThreadBpfOptions& options, bool use_btf, bool use_walk,
    std::string* why) {
  auto configure = [&](threads_bpf& skel) -> absl::Status {
    skel.rodata->agent_tgid = options.agent_tgid;
    skel.rodata->exit_slots_per_cpu = options.exit_slots_per_cpu;
    bpf_map__set_max_entries(skel.maps.block_io, options.max_threads);
    const int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0) return LibbpfError(cpus, "count possible CPUs");
    const uint32_t n = static_cast<uint32_t>(cpus);
    bpf_map__set_max_entries(skel.maps.cpu_clocks, n);
    bpf_map__set_max_entries(skel.maps.exit_samples,
                             n * options.exit_slots_per_cpu);
    bpf_map__set_max_entries(
        skel.maps.exit_finals,
        options.exit_last_slice ? n * options.exit_slots_per_cpu : 1);
    bpf_map__set_max_entries(skel.maps.exit_pos, n * PW_EXIT_KINDS);
    bpf_map__set_max_entries(skel.maps.snapshot_out,
                             use_walk ? std::max(options.walk_batch, 1u) : 1);
    // The snapshot: one of two programs (not a tp_btf/raw_tp pair).
    bpf_program__set_autoload(skel.progs.snapshot_walk, use_walk);
    bpf_program__set_autoload(skel.progs.snapshot_threads, !use_walk);
    auto& p = skel.progs;
    const HookPair hooks[] = {
        {p.task_exit_btf, p.task_exit_raw, true},
        {p.task_free_btf, p.task_free_raw, options.exit_last_slice},
        {p.bio_queue_btf, p.bio_queue_raw, true},
    };
    SelectHookFlavour(hooks, use_btf);
    return absl::OkStatus();
  };
  return LoadSkeleton<threads_bpf>(kThreadsSkeleton, configure, why);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ThreadBpf>> ThreadBpf::Open(
    const ThreadBpfOptions& options) {
  if (!std::has_single_bit(options.exit_slots_per_cpu) ||
      options.exit_slots_per_cpu < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("exit slots per CPU must be a power of two >= 2, not ",
                     options.exit_slots_per_cpu));
  }
  auto self = std::make_unique<ThreadBpf>(PassKey());
  // Best first; each later one needs less of the kernel (the walk needs
  // open-coded task iterators, 6.7; tp_btf needs BTF-typed tracepoints).
  struct Attempt {
    bool btf;
    bool walk;
    const char* name;
  };
  constexpr Attempt kAttempts[] = {{true, true, "tp_btf + task walk"},
                                   {true, false, "tp_btf + iter/task"},
                                   {false, false, "raw_tp + iter/task"}};
  absl::StatusOr<SkeletonPtr<threads_bpf>> skel;
  std::string failures;
  for (const Attempt& a : kAttempts) {
    if ((a.walk && options.snapshot == ThreadSnapshotMode::kIterTask) ||
        (!a.walk && options.snapshot == ThreadSnapshotMode::kWalk)) {
      continue;
    }
    std::string why;
    skel = LoadWith(options, a.btf, a.walk, &why);
    if (skel.ok()) {
      self->hook_ = a.btf ? "tp_btf" : "raw_tp";
      self->walk_ = a.walk;
      break;
    }
    absl::StrAppend(&failures, failures.empty() ? "" : "; ", a.name, ": ",
                    skel.status().message(), why.empty() ? "" : " ", why);
  }
  if (!skel.ok()) {
    return absl::Status(
        skel.status().code(),
        absl::StrCat("no way to load the threads BPF programs (", failures,
                     ")"));
  }
  self->load_failures_ = std::move(failures);
  self->skel_ = *std::move(skel);
  threads_bpf* maps = self->skel_.get();
  if (self->walk_) {
    self->walk_batch_ = std::max(options.walk_batch, 1u);
    auto out = MapBpfArray(maps->maps.snapshot_out, self->walk_batch_,
                           sizeof(pw_thread_sample), /*writable=*/false);
    if (!out.ok()) return out.status();
    self->walk_out_ = std::move(*out);
  }
  self->cpus_ = static_cast<uint32_t>(libbpf_num_possible_cpus());
  self->exit_slots_per_cpu_ = options.exit_slots_per_cpu;
  const size_t slots = size_t{self->cpus_} * self->exit_slots_per_cpu_;
  auto samples = MapBpfArray(maps->maps.exit_samples, slots,
                             sizeof(pw_thread_sample), /*writable=*/false);
  if (!samples.ok()) return samples.status();
  self->exit_samples_ = std::move(*samples);
  if (options.exit_last_slice) {
    auto finals = MapBpfArray(maps->maps.exit_finals, slots,
                              sizeof(pw_thread_final), /*writable=*/false);
    if (!finals.ok()) return finals.status();
    self->exit_finals_ = std::move(*finals);
  }
  auto pos =
      MapBpfArray(maps->maps.exit_pos, size_t{self->cpus_} * PW_EXIT_KINDS,
                  sizeof(pw_ring_pos), /*writable=*/true);
  if (!pos.ok()) return pos.status();
  self->exit_pos_ = std::move(*pos);
  auto wakeups = OpenWakeupRing(maps->maps.exit_wakeups);
  if (!wakeups.ok()) return wakeups.status();
  self->exit_wakeups_ = *std::move(wakeups);
  return self;
}

ThreadBpf::~ThreadBpf() = default;

absl::Status ThreadBpf::ReadBlockIoMap() {
  block_io_.clear();
  // An empty map is the common case on a quiet host, and a batch read walks
  // (and locks) every bucket anyway. A count racing an insert only delays
  // that entry to the next interval: its counters are cumulative.
  const int64_t entries =
      __atomic_load_n(&skel_->bss->block_io_count, __ATOMIC_RELAXED);
  if (entries <= 0) {
    return absl::OkStatus();
  }
  const int fd = bpf_map__fd(skel_->maps.block_io);
  constexpr uint32_t kBatch = 1024;
  batch_keys_.resize(kBatch);
  batch_values_.resize(kBatch);
  uint32_t out_batch = 0;
  bool first = true;
  for (;;) {
    uint32_t count = kBatch;
    const int err = bpf_map_lookup_batch(fd, first ? nullptr : &out_batch,
                                         &out_batch, batch_keys_.data(),
                                         batch_values_.data(), &count, nullptr);
    first = false;
    for (uint32_t i = 0; i < count; ++i) {
      block_io_[BlockIoKey(batch_keys_[i].tid, batch_keys_[i].start_time_ns)] =
          batch_values_[i];
    }
    if (err == 0) continue;
    if (errno == ENOENT) return absl::OkStatus();  // no more entries
    return LibbpfError(errno, "read block_io map");
  }
}

absl::Status ThreadBpf::ForEachLiveThread(
    absl::FunctionRef<void(const ThreadSample&)> fn) {
  last_full_ = snapshots_ % kFullSnapshotEvery == 0;
  ++snapshots_;
  skel_->data->full_snapshot = last_full_;
  skel_->bss->snapshot_seq = snapshots_;
  if (absl::Status s = ReadBlockIoMap(); !s.ok()) return s;
  absl::flat_hash_set<BlockIoKey> live;
  auto deliver = [&](const pw_thread_sample& kernel_sample) {
    ThreadSample t = ToThreadSample(kernel_sample);
    const BlockIoKey key(t.tid, t.start_time_ns);
    if (auto it = block_io_.find(key); it != block_io_.end()) {
      SetBlockIo(it->second, t.counters);
      if (last_full_) live.insert(key);
    }
    fn(t);
  };
  if (walk_) {
    if (absl::Status s = Walk(deliver); !s.ok()) return s;
  } else {
    absl::StatusOr<size_t> used =
        RunIterator(skel_->links.snapshot_threads, sizeof(pw_thread_sample),
                    "task iterator", iter_buffer_);
    if (!used.ok()) return used.status();
    for (size_t off = 0; off < *used; off += sizeof(pw_thread_sample)) {
      pw_thread_sample s;
      std::memcpy(&s, iter_buffer_.data() + off, sizeof(s));
      deliver(s);
    }
  }
  if (last_full_) CollectOrphanBlockIo(live);
  return absl::OkStatus();
}

absl::Status ThreadBpf::Walk(
    absl::FunctionRef<void(const pw_thread_sample&)> deliver) {
  const int prog = bpf_program__fd(skel_->progs.snapshot_walk);
  const auto* out = static_cast<const pw_thread_sample*>(walk_out_.data());
  skel_->bss->walk_skip = 0;
  // A run stops when snapshot_out is full; the next one resumes after the
  // tasks already passed. Tasks created or gone between runs may shift that
  // position by a few: a task then comes twice (harmless: the second sample
  // has nothing new) or waits for the next snapshot (its counters are
  // cumulative, so nothing is lost).
  for (int run = 0;; ++run) {  // run: for the error message
    LIBBPF_OPTS(bpf_test_run_opts, opts);
    if (int err = bpf_prog_test_run_opts(prog, &opts); err != 0) {
      return LibbpfError(err, "run the task walk");
    }
    const uint32_t n = std::min(skel_->bss->walk_samples, walk_batch_);
    for (uint32_t i = 0; i < n; ++i) deliver(out[i]);
    if (skel_->bss->walk_complete) return absl::OkStatus();
    // A run that made no progress would loop forever: a bug, not a load.
    if (n == 0) {
      return absl::InternalError(absl::StrCat(
          "task walk stopped making progress after ", run + 1, " runs"));
    }
    skel_->bss->walk_skip = skel_->bss->walk_visited;
  }
}

void ThreadBpf::DeleteBlockIoEntry(const pw_block_io_key& key) {
  if (bpf_map_delete_elem(bpf_map__fd(skel_->maps.block_io), &key) == 0)
    __atomic_fetch_sub(&skel_->bss->block_io_count, 1, __ATOMIC_RELAXED);
}

void ThreadBpf::CollectOrphanBlockIo(
    const absl::flat_hash_set<BlockIoKey>& live) {
  absl::flat_hash_set<BlockIoKey> missing;
  for (const auto& [key, io] : block_io_) {
    if (live.contains(key)) continue;
    if (orphan_candidates_.contains(key)) {
      DeleteBlockIoEntry(pw_block_io_key{key.first, 0, key.second});
    } else {
      missing.insert(key);
    }
  }
  orphan_candidates_ = std::move(missing);
}

PerCpuRings ThreadBpf::ExitRings(pw_exit_kind kind) {
  const bool samples = kind == PW_EXIT_SAMPLES;
  PerCpuRings rings;
  rings.records = static_cast<const char*>(samples ? exit_samples_.data()
                                                   : exit_finals_.data());
  rings.record_size =
      samples ? sizeof(pw_thread_sample) : sizeof(pw_thread_final);
  // exit_pos_ is the one writable mapping: the agent owns the tails.
  rings.positions = static_cast<pw_ring_pos*>(exit_pos_.mutable_data()) + kind;
  rings.position_stride = PW_EXIT_KINDS;
  rings.cpus = cpus_;
  rings.slots_per_cpu = exit_slots_per_cpu_;
  return rings;
}

absl::Status ThreadBpf::DrainExits(
    absl::FunctionRef<void(const ThreadSample&)> on_exit,
    absl::FunctionRef<void(const ThreadFinal&)> on_final) {
  // Wakeup records carry nothing: consuming them re-arms the wakeup.
  const int n = ring_buffer__consume(exit_wakeups_.get());
  if (n < 0) return LibbpfError(n, "consume exit wakeup ring");
  // Samples first: a final is then rarely ahead of its sample.
  absl::Status status =
      DrainPerCpuRings(ExitRings(PW_EXIT_SAMPLES), [&](const void* record) {
        pw_thread_sample s;
        std::memcpy(&s, record, sizeof(s));
        on_exit(ToThreadSample(s));
      });
  if (exit_finals_.data() == nullptr) return status;  // no last slices
  status.Update(
      DrainPerCpuRings(ExitRings(PW_EXIT_FINALS), [&](const void* record) {
        pw_thread_final f;
        std::memcpy(&f, record, sizeof(f));
        on_final(ToThreadFinal(f));
      }));
  return status;
}

absl::Status ThreadBpf::TakeBlockIoOfExited(std::vector<ThreadSample>& exited) {
  if (exited.empty()) return absl::OkStatus();
  // Every task here is dead, so its block_io entry (if any) is final.
  const absl::Status read = ReadBlockIoMap();
  if (!read.ok()) {
    block_io_.clear();
    return read;
  }
  for (ThreadSample& t : exited) {
    auto it = block_io_.find(BlockIoKey(t.tid, t.start_time_ns));
    if (it == block_io_.end()) continue;
    SetBlockIo(it->second, t.counters);
    DeleteBlockIoEntry(pw_block_io_key{t.tid, 0, t.start_time_ns});
    block_io_.erase(it);
  }
  return absl::OkStatus();
}

int ThreadBpf::exit_wakeup_fd() const {
  return ring_buffer__epoll_fd(exit_wakeups_.get());
}

absl::StatusOr<ThreadLostCounts> ThreadBpf::ReadLost() const {
  const int fd = bpf_map__fd(skel_->maps.lost);
  auto exits = SumPerCpuCounter(fd, PW_LOST_EXIT_RECORD);
  if (!exits.ok()) return exits.status();
  auto block = SumPerCpuCounter(fd, PW_LOST_BLOCK_IO);
  if (!block.ok()) return block.status();
  return ThreadLostCounts{*exits, *block};
}

}  // namespace perfwire
