// SPDX-License-Identifier: GPL-2.0
/* Block request latency per disk, of the contention object (see
 * contention.bpf.h). */
#include "contention.bpf.h"
#include "pw_core_fixes.bpf.h"

/* ---- block IO ----------------------------------------------------------- */

static __always_inline int on_rq_issue(struct request *rq) {
  struct gendisk *disk = pw_request_disk(rq);
  if (!disk) return 0;
  __u32 major = BPF_CORE_READ(disk, major);
  __u32 minor = BPF_CORE_READ(disk, first_minor);
  struct pw_ct_inflight v = {.issue_ts = bpf_ktime_get_ns(),
                             .dev = PW_MKDEV(major, minor)};
  __u64 key = (__u64)rq;
  if (bpf_map_update_elem(&ct_inflight, &key, &v, BPF_ANY))
    count_lost(PW_CT_LOST_INFLIGHT);
  return 0;
}

static __always_inline int on_rq_complete(struct request *rq) {
  __u64 key = (__u64)rq;
  struct pw_ct_inflight *in = bpf_map_lookup_elem(&ct_inflight, &key);
  if (!in) return 0; /* issued before we attached */
  __u64 now = bpf_ktime_get_ns();
  __u64 lat = now > in->issue_ts ? now - in->issue_ts : 0;
  __u32 dev = in->dev;
  bpf_map_delete_elem(&ct_inflight, &key);

  struct pw_ct_disk *d = bpf_map_lookup_elem(&ct_disks, &dev);
  if (!d) {
    struct pw_ct_disk init = {};
    struct gendisk *disk = pw_request_disk(rq);
    if (disk) BPF_CORE_READ_STR_INTO(&init.name, disk, disk_name);
    bool created;
    d = pw_lookup_or_init(&ct_disks, &dev, &init, &created);
    if (!d) {
      count_lost(PW_CT_LOST_DISK);
      return 0;
    }
  }
  __sync_fetch_and_add(&d->request_count, 1);
  __sync_fetch_and_add(&d->latency_total_ns, lat);
  __sync_fetch_and_add(
      &d->latency_hist[hist_slot(lat) & (PW_CT_HIST_SLOTS - 1)], 1);
  return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(ct_rq_issue_btf, struct request *rq) { return on_rq_issue(rq); }

SEC("raw_tp/block_rq_issue")
int BPF_PROG(ct_rq_issue_raw, struct request *rq) { return on_rq_issue(rq); }

SEC("tp_btf/block_rq_complete")
int BPF_PROG(ct_rq_complete_btf, struct request *rq) {
  return on_rq_complete(rq);
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(ct_rq_complete_raw, struct request *rq) {
  return on_rq_complete(rq);
}
