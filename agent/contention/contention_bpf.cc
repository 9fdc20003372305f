#include "agent/contention/contention_bpf.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "agent/bpf/libbpf_util.h"
#include "base/unique_fd.h"
#include "contention.skel.h"

namespace perfwire {

template <>
void SkeletonDeleter<contention_bpf>::operator()(contention_bpf* skel) const {
  contention_bpf__destroy(skel);
}

ThreadContentionDelta ToThreadContentionDelta(const pw_ct_record& r) {
  ThreadContentionDelta out;
  out.tid = r.tid;
  out.pid = r.pid;
  out.start_time_ns = r.start_time_ns;
  out.exited = r.exited != 0;
  out.delta = r.delta;
  return out;
}

uint32_t ContentionExitSlotsPerCpu(uint64_t buffer_bytes, uint32_t cpus) {
  const uint64_t per_cpu =
      buffer_bytes /
      (uint64_t{std::max(cpus, 1u)} * PW_CT_EXIT_KINDS * sizeof(pw_ct_record));
  return static_cast<uint32_t>(
      std::bit_floor(std::clamp<uint64_t>(per_cpu, 2, 1u << 20)));
}

namespace {

constexpr SkeletonOps<contention_bpf> kContentionSkeleton = {
    "contention", &contention_bpf__open, &contention_bpf__load,
    &contention_bpf__attach};

struct Attempt {
  bool btf;
  bool locks;
};

absl::StatusOr<SkeletonPtr<contention_bpf>> LoadWith(
    const ContentionBpfOptions& options, Attempt a, uint32_t cpus,
    uint32_t slots, std::string* why) {
  auto configure = [&](contention_bpf& skel) -> absl::Status {
    skel.rodata->agent_tgid = options.agent_tgid;
    skel.rodata->use_task_storage = a.btf;
    bpf_map__set_max_entries(skel.maps.ct_tid, a.btf ? 1 : options.max_threads);
    skel.rodata->exit_slots_per_cpu = slots;
    bpf_map__set_max_entries(skel.maps.ct_exit_switch, cpus * slots);
    bpf_map__set_max_entries(skel.maps.ct_exit_free,
                             options.free_fallback ? cpus * slots : 1);
    bpf_map__set_max_entries(skel.maps.ct_exit_pos, cpus * PW_CT_EXIT_KINDS);
    auto& p = skel.progs;
    const HookPair hooks[] = {
        {p.ct_switch_btf, p.ct_switch_raw, true},
        {p.ct_wakeup_btf, p.ct_wakeup_raw, true},
        {p.ct_free_btf, p.ct_free_raw, options.free_fallback},
        {p.ct_rq_issue_btf, p.ct_rq_issue_raw, true},
        {p.ct_rq_complete_btf, p.ct_rq_complete_raw, true},
        {p.ct_lock_begin_btf, p.ct_lock_begin_raw, a.locks},
        {p.ct_lock_end_btf, p.ct_lock_end_raw, a.locks},
        {p.ct_sys_enter_btf, p.ct_sys_enter_raw, options.futex_syscalls},
        {p.ct_sys_exit_btf, p.ct_sys_exit_raw, options.futex_syscalls},
    };
    SelectHookFlavour(hooks, a.btf);
    return absl::OkStatus();
  };
  return LoadSkeleton<contention_bpf>(kContentionSkeleton, configure, why);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ContentionBpf>> ContentionBpf::Open(
    const ContentionBpfOptions& options) {
  auto self = std::make_unique<ContentionBpf>(PassKey());
  const int possible = libbpf_num_possible_cpus();
  if (possible <= 0) return LibbpfError(possible, "count possible CPUs");
  self->cpus_ = static_cast<uint32_t>(possible);
  self->exit_slots_per_cpu_ =
      ContentionExitSlotsPerCpu(options.exit_buffer_bytes, self->cpus_);
  std::vector<Attempt> attempts;
  if (!options.force_raw_tp) attempts.push_back({true, true});
  if (!options.force_raw_tp) attempts.push_back({true, false});
  attempts.push_back({false, true});
  attempts.push_back({false, false});
  std::string whys;
  absl::Status last;
  for (const Attempt& a : attempts) {
    std::string why;
    auto skel =
        LoadWith(options, a, self->cpus_, self->exit_slots_per_cpu_, &why);
    if (skel.ok()) {
      self->skel_ = *std::move(skel);
      self->hook_ = a.btf ? "tp_btf" : "raw_tp";
      self->lock_hooks_ = a.locks;
      self->futex_syscalls_ = options.futex_syscalls;
      break;
    }
    last = skel.status();
    absl::StrAppend(&whys, whys.empty() ? "" : "; ",
                    a.btf ? "tp_btf" : "raw_tp",
                    a.locks ? "" : " without locks", ": ", why);
  }
  if (!self->skel_) {
    return absl::Status(last.code(),
                        absl::StrCat(last.message(), " (", whys, ")"));
  }
  contention_bpf* maps = self->skel_.get();
  const size_t slots = size_t{self->cpus_} * self->exit_slots_per_cpu_;
  bpf_map* records[PW_CT_EXIT_KINDS] = {maps->maps.ct_exit_switch,
                                        maps->maps.ct_exit_free};
  for (int kind = 0; kind < PW_CT_EXIT_KINDS; ++kind) {
    if (kind == PW_CT_EXIT_FREE && !options.free_fallback) continue;
    auto mapped = MapBpfArray(records[kind], slots, sizeof(pw_ct_record),
                              /*writable=*/false);
    if (!mapped.ok()) return mapped.status();
    self->exit_records_[kind] = *std::move(mapped);
  }
  auto pos = MapBpfArray(maps->maps.ct_exit_pos,
                         size_t{self->cpus_} * PW_CT_EXIT_KINDS,
                         sizeof(pw_ring_pos), /*writable=*/true);
  if (!pos.ok()) return pos.status();
  self->exit_pos_ = *std::move(pos);
  auto wakeups = OpenWakeupRing(maps->maps.ct_exit_wakeups);
  if (!wakeups.ok()) return wakeups.status();
  self->exit_wakeups_ = *std::move(wakeups);
  return self;
}

ContentionBpf::~ContentionBpf() = default;

absl::Status ContentionBpf::ForEachThreadDelta(
    absl::FunctionRef<void(const ThreadContentionDelta&)> fn) {
  absl::StatusOr<size_t> used =
      RunIterator(skel_->links.ct_snapshot, sizeof(pw_ct_record),
                  "contention task iterator", iter_buffer_);
  if (!used.ok()) return used.status();
  for (size_t off = 0; off < *used; off += sizeof(pw_ct_record)) {
    pw_ct_record r;
    std::memcpy(&r, iter_buffer_.data() + off, sizeof(r));
    fn(ToThreadContentionDelta(r));
  }
  return absl::OkStatus();
}

PerCpuRings ContentionBpf::ExitRings(pw_ct_exit_kind kind) {
  PerCpuRings rings;
  rings.records = static_cast<const char*>(exit_records_[kind].data());
  rings.record_size = sizeof(pw_ct_record);
  // exit_pos_ is the one writable mapping: the agent owns the tails.
  rings.positions = static_cast<pw_ring_pos*>(exit_pos_.mutable_data()) + kind;
  rings.position_stride = PW_CT_EXIT_KINDS;
  rings.cpus = cpus_;
  rings.slots_per_cpu = exit_slots_per_cpu_;
  return rings;
}

absl::Status ContentionBpf::DrainExits(
    absl::FunctionRef<void(const ThreadContentionDelta&)> fn) {
  // Wakeup records carry nothing: consuming them re-arms the wakeup.
  const int n = ring_buffer__consume(exit_wakeups_.get());
  if (n < 0) return LibbpfError(n, "consume contention exit wakeup ring");
  absl::Status status;
  for (pw_ct_exit_kind kind : {PW_CT_EXIT_SWITCH, PW_CT_EXIT_FREE}) {
    if (exit_records_[kind].data() == nullptr) continue;  // not loaded
    status.Update(DrainPerCpuRings(ExitRings(kind), [&](const void* record) {
      pw_ct_record r;
      std::memcpy(&r, record, sizeof(r));
      fn(ToThreadContentionDelta(r));
    }));
  }
  return status;
}

int ContentionBpf::exit_wakeup_fd() const {
  return ring_buffer__epoll_fd(exit_wakeups_.get());
}

absl::Status ContentionBpf::TakeWakeEdges(std::vector<WakeEdgeCount>* out) {
  out->clear();
  const int fd = bpf_map__fd(skel_->maps.ct_wakes);
  const size_t cap = bpf_map__max_entries(skel_->maps.ct_wakes);
  edge_keys_.resize(cap);
  edge_values_.resize(cap);
  // One batch holds the whole map, so one call reads and deletes everything
  // (per bucket, atomically with respect to the BPF side's inserts).
  __u64 out_batch = 0;
  __u32 count = static_cast<__u32>(cap);
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  int err = bpf_map_lookup_and_delete_batch(fd, nullptr, &out_batch,
                                            edge_keys_.data(),
                                            edge_values_.data(), &count, &opts);
  if (err && errno != ENOENT)
    return LibbpfError(errno, "read waker->wakee pairs");
  out->reserve(count);
  for (__u32 i = 0; i < count; ++i) {
    const pw_ct_wake_key& k = edge_keys_[i];
    const pw_ct_wake_value& v = edge_values_[i];
    out->push_back(
        {k.waker_tid, v.waker_pid, k.wakee_tid, v.wakee_pid, v.count});
  }
  return absl::OkStatus();
}

absl::Status ContentionBpf::ReadDisks(
    std::vector<DiskLatencyTotals>* out) const {
  out->clear();
  const int fd = bpf_map__fd(skel_->maps.ct_disks);
  __u32 key = 0, next = 0;
  __u32* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    pw_ct_disk d;
    if (bpf_map_lookup_elem(fd, &next, &d) == 0) {
      DiskLatencyTotals t;
      t.dev = next;
      t.name.assign(d.name, strnlen(d.name, sizeof(d.name)));
      t.request_count = d.request_count;
      t.latency_total_ns = d.latency_total_ns;
      std::copy(std::begin(d.latency_hist), std::end(d.latency_hist),
                t.hist.begin());
      out->push_back(std::move(t));
    }
    key = next;
    prev = &key;
  }
  return absl::OkStatus();
}

absl::Status ContentionBpf::ReadCpuRunQueue(
    std::vector<CpuRunQueueTotals>* out) const {
  out->clear();
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return LibbpfError(cpus, "count possible CPUs");
  std::vector<pw_ct_cpu_hist> values(static_cast<size_t>(cpus));
  __u32 zero = 0;
  if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.ct_cpu_rq), &zero,
                          values.data()) != 0) {
    return LibbpfError(errno, "read per-CPU run-queue histograms");
  }
  for (int cpu = 0; cpu < cpus; ++cpu) {
    const pw_ct_cpu_hist& h = values[static_cast<size_t>(cpu)];
    CpuRunQueueTotals t;
    t.cpu = static_cast<uint32_t>(cpu);
    t.wait_count = h.wait_count;
    t.wait_total_ns = h.wait_total_ns;
    std::copy(std::begin(h.hist), std::end(h.hist), t.hist.begin());
    out->push_back(t);
  }
  return absl::OkStatus();
}

absl::StatusOr<ContentionLostCounts> ContentionBpf::ReadLost() const {
  uint64_t sums[PW_CT_LOST_CAUSE_COUNT] = {};
  for (uint32_t cause = 0; cause < PW_CT_LOST_CAUSE_COUNT; ++cause) {
    auto sum = SumPerCpuCounter(bpf_map__fd(skel_->maps.ct_lost), cause);
    if (!sum.ok()) return sum.status();
    sums[cause] = *sum;
  }
  ContentionLostCounts out;
  out.state = sums[PW_CT_LOST_STATE];
  out.exit_records = sums[PW_CT_LOST_EXIT_RECORD];
  out.inflight = sums[PW_CT_LOST_INFLIGHT];
  out.wake_edges = sums[PW_CT_LOST_WAKE_EDGE];
  out.disks = sums[PW_CT_LOST_DISK];
  return out;
}

}  // namespace perfwire
