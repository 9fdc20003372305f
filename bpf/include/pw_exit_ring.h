/* Per-CPU exit-record rings, shared by the BPF objects that send records at
 * thread exit (threads, contention) and the agent (agent/bpf/per_cpu_rings).
 * Fixed-width types only; the layout is the wire format.
 *
 * Records travel through BPF_F_MMAPABLE arrays the agent maps: one ring per
 * CPU and kind (a kind is one producing hook), each of `slots` records (a
 * power of two); kind k's records are an array of their own, CPU c's at
 * entries [c * slots, (c + 1) * slots). The positions of CPU c's ring of
 * kind k are entry c * kinds + k of a positions array. A position counts
 * records since load: record i sits in slot i % slots, head - tail are
 * waiting. One producer per ring (the program of that hook on that CPU:
 * tracepoint programs run with preemption off and never nest on a CPU), one
 * consumer (the agent): no locks, and a slot is written where it will be
 * read. The producer wakes the agent through a BPF ring buffer only as a ring
 * reaches half full; the agent drains every ring once per interval. BPF's
 * own ring buffer cost 0.1-0.2 us more per record, measured here when these
 * were chosen (its reserve takes a spinlock and moves positions all CPUs
 * share). The producer side is pw_exit_ring.bpf.h. */
#ifndef PERFWIRE_BPF_PW_EXIT_RING_H_
#define PERFWIRE_BPF_PW_EXIT_RING_H_

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* One ring's positions, each on its own cache line. */
struct pw_ring_pos {
  __u64 head; /* written by the program only, after the record (atomic) */
  __u64 head_pad[7];
  __u64 tail; /* written by the agent only, after it copied the records */
  __u64 tail_pad[7];
};

#endif /* PERFWIRE_BPF_PW_EXIT_RING_H_ */
