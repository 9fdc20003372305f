#include "agent/threads/thread_bpf.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "agent/bpf/libbpf_util.h"
#include "clients/lib/unique_fd.h"
#include "threads.skel.h"

namespace perfwire {

void ThreadBpf::SkelDeleter::operator()(threads_bpf* s) const {
  threads_bpf__destroy(s);
}
void ThreadBpf::RingDeleter::operator()(ring_buffer* r) const {
  ring_buffer__free(r);
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

namespace {

void CopyBlockIo(const pw_block_io& io, pw_thread_sample& s) {
  s.block_read_bytes = io.read_bytes;
  s.block_write_bytes = io.write_bytes;
  s.block_read_ops = io.read_ops;
  s.block_write_ops = io.write_ops;
}

// One load attempt with the given hook flavour ("tp_btf" or "raw_tp").
absl::StatusOr<threads_bpf*> LoadWith(const ThreadBpfOptions& options,
                                      bool use_btf, std::string* why) {
  LibbpfLogCapture capture;
  threads_bpf* skel = threads_bpf__open();
  if (!skel) return LibbpfError(errno, "open BPF object threads");
  skel->rodata->agent_tgid = options.agent_tgid;
  skel->rodata->exits_ring_bytes = options.exit_buffer_bytes;
  bpf_map__set_max_entries(skel->maps.block_io, options.max_threads);
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) {
    threads_bpf__destroy(skel);
    return LibbpfError(cpus, "count possible CPUs");
  }
  bpf_map__set_max_entries(skel->maps.cpu_clocks, static_cast<uint32_t>(cpus));
  bpf_map__set_max_entries(skel->maps.exits, options.exit_buffer_bytes);
  bpf_program__set_autoload(skel->progs.task_free_btf, use_btf);
  bpf_program__set_autoload(skel->progs.bio_queue_btf, use_btf);
  bpf_program__set_autoload(skel->progs.task_free_raw, !use_btf);
  bpf_program__set_autoload(skel->progs.bio_queue_raw, !use_btf);
  int err = threads_bpf__load(skel);
  if (err) {
    *why = capture.Tail();
    threads_bpf__destroy(skel);
    return LibbpfError(err, "load BPF programs");
  }
  err = threads_bpf__attach(skel);
  if (err) {
    *why = capture.Tail();
    threads_bpf__destroy(skel);
    return LibbpfError(err, "attach BPF programs");
  }
  return skel;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ThreadBpf>> ThreadBpf::Open(
    const ThreadBpfOptions& options) {
  auto self = std::make_unique<ThreadBpf>(PassKey());
  std::string why;
  auto skel = LoadWith(options, /*use_btf=*/true, &why);
  self->hook_ = "tp_btf";
  if (!skel.ok()) {
    std::string why_raw;
    auto raw = LoadWith(options, /*use_btf=*/false, &why_raw);
    if (!raw.ok()) {
      return absl::Status(raw.status().code(),
                          absl::StrCat(raw.status().message(), " (tp_btf: ",
                                       why, "; raw_tp: ", why_raw, ")"));
    }
    skel = raw;
    self->hook_ = "raw_tp";
  }
  self->skel_.reset(*skel);
  ring_buffer* rb =
      ring_buffer__new(bpf_map__fd(self->skel_->maps.exits),
                       &ThreadBpf::OnExitRecord, self.get(), nullptr);
  if (!rb) return LibbpfError(errno, "create exit ring buffer reader");
  self->exits_.reset(rb);
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
  absl::StatusOr<size_t> used =
      RunIterator(skel_->links.snapshot_threads, sizeof(pw_thread_sample),
                  "task iterator", iter_buffer_);
  if (!used.ok()) return used.status();
  if (absl::Status s = ReadBlockIoMap(); !s.ok()) return s;
  absl::flat_hash_set<BlockIoKey> live;
  for (size_t off = 0; off < *used; off += sizeof(pw_thread_sample)) {
    pw_thread_sample s;
    std::memcpy(&s, iter_buffer_.data() + off, sizeof(s));
    const BlockIoKey key(s.tid, s.start_time_ns);
    if (auto it = block_io_.find(key); it != block_io_.end()) {
      CopyBlockIo(it->second, s);
      if (last_full_) live.insert(key);
    }
    fn(ToThreadSample(s));
  }
  if (last_full_) CollectOrphanBlockIo(live);
  return absl::OkStatus();
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

int ThreadBpf::OnExitRecord(void* ctx, void* data, size_t size) {
  auto* self = static_cast<ThreadBpf*>(ctx);
  if (size < sizeof(pw_thread_sample)) return 0;
  pw_thread_sample s;
  std::memcpy(&s, data, sizeof(s));
  self->exits_pending_.push_back(s);
  return 0;
}

absl::Status ThreadBpf::DrainExits(
    absl::FunctionRef<void(const ThreadSample&)> fn) {
  exits_pending_.clear();
  int n = ring_buffer__consume(exits_.get());
  if (n < 0) return LibbpfError(n, "consume exit ring buffer");
  if (exits_pending_.empty()) return absl::OkStatus();
  // Every task here is dead, so its block_io entry (if any) is final. It is
  // read after the records: an entry made after an earlier read is seen. A
  // failed read still delivers the records, without their block IO.
  const absl::Status read = ReadBlockIoMap();
  if (!read.ok()) block_io_.clear();
  for (pw_thread_sample& s : exits_pending_) {
    const BlockIoKey key(s.tid, s.start_time_ns);
    if (auto it = block_io_.find(key); it != block_io_.end()) {
      CopyBlockIo(it->second, s);
      DeleteBlockIoEntry(pw_block_io_key{s.tid, 0, s.start_time_ns});
      block_io_.erase(it);
    }
    fn(ToThreadSample(s));
  }
  exits_pending_.clear();
  return read;
}

int ThreadBpf::exit_wakeup_fd() const {
  return ring_buffer__epoll_fd(exits_.get());
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
