/* SPDX-License-Identifier: GPL-2.0 */
/* The producer side of the per-CPU exit-record rings (protocol in
 * pw_exit_ring.h). Maps stay per object: each object defines its record
 * arrays (BPF_F_MMAPABLE, one per kind), its positions array (BPF_F_MMAPABLE,
 * kinds entries per CPU) and a small BPF_MAP_TYPE_RINGBUF that only wakes the
 * agent, and passes them here. Use:
 *
 *   __u32 slot;
 *   struct pw_ring_pos *ring = pw_exit_ring_reserve(&pos, KINDS, kind, n,
 * &slot); struct rec *r = ring ? bpf_map_lookup_elem(&records, &slot) : NULL;
 *   if (!r) { count it lost; return; }
 *   ... fill *r ...
 *   pw_exit_ring_publish(ring, n, &wakeups);   (or drop it: just return)
 */
#ifndef PERFWIRE_BPF_PW_EXIT_RING_BPF_H_
#define PERFWIRE_BPF_PW_EXIT_RING_BPF_H_

#include <bpf/bpf_helpers.h>

#include "pw_exit_ring.h"

/* This CPU's ring of `kind` (of `kinds` per CPU): its positions, with the
 * index in the kind's record array of the slot for its next record in
 * *slot. `slots` is the ring's size, a power of two. NULL when the ring is
 * full (the agent has not taken its records yet). Nothing is reserved: a
 * record written there and never published is simply overwritten by the
 * next one. */
static __always_inline struct pw_ring_pos *pw_exit_ring_reserve(
    void *positions, __u32 kinds, __u32 kind, __u32 slots, __u32 *slot) {
  __u32 cpu = bpf_get_smp_processor_id();
  __u32 key = cpu * kinds + kind;
  struct pw_ring_pos *p = bpf_map_lookup_elem(positions, &key);
  if (!p) return NULL;
  __u64 head = p->head;
  if (head - *(volatile __u64 *)&p->tail >= slots) return NULL;
  *slot = cpu * slots + (__u32)(head & (slots - 1));
  return p;
}

/* Hands the record just written in the ring's next slot to the agent. The
 * atomic add orders the record's stores before the new head: on x86 any
 * locked add does (and the plain add loads on 5.8, where the fetching form
 * needs 5.12); arm64 needs the fetching form, whose JIT adds the barriers.
 * This CPU is the ring's only producer, so the new head is the old + 1.
 * The agent drains once per interval; it is woken early (through the ring
 * buffer `wakeups`) only as the ring reaches half full, so steady-state
 * exits cost no wakeup. */
static __always_inline void pw_exit_ring_publish(struct pw_ring_pos *p,
                                                 __u32 slots, void *wakeups) {
#if defined(__TARGET_ARCH_x86)
  __u64 head = p->head + 1;
  __sync_fetch_and_add(&p->head, 1);
#else
  __u64 head = __sync_fetch_and_add(&p->head, 1) + 1; /* the fetching form */
#endif
  if (head - *(volatile __u64 *)&p->tail == slots / 2)
    bpf_ringbuf_output(wakeups, &head, sizeof(head), BPF_RB_FORCE_WAKEUP);
}

#endif /* PERFWIRE_BPF_PW_EXIT_RING_BPF_H_ */
