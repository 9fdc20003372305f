/* SPDX-License-Identifier: GPL-2.0 */
/* The contention object: where threads wait, counted in kernel maps. Its
 * parts, linked into one object (bpftool gen object): maps.bpf.c (every map
 * and setting), sched.bpf.c (switches, wakeups, the iterator, exits),
 * locks.bpf.c (futex syscalls, kernel locks), block.bpf.c (request latency).
 *
 *  - sched_switch: run-queue wait is the kernel's own: sched_info, the
 *    accounting behind schedstat, stamps `last_queued` when a task is queued
 *    and adds the wait to `run_delay` at switch-in. We read both at
 *    switch-in (log2 histograms per thread and per CPU from the clock the
 *    kernel uses, rq->clock) and take `run_delay` itself as the per-thread
 *    total, so nothing is stamped at wakeup or preemption. Blocked time is
 *    split by the cause seen at switch-out: futex wait, kernel lock, block
 *    IO (task->in_iowait), other sleep. A thread's accounting happens at its
 *    own switch-out (see on_switch), so every counter has one writer.
 *  - sched_wakeup counts waker -> wakee pairs (wakee was blocked): in the
 *    wakee's state while the waker stays the same, in the ct_wakes hash when
 *    it changes or the reader collects.
 *  - sys_enter / sys_exit: FUTEX_WAIT* syscalls, count and time. Every other
 *    syscall costs one compare.
 *  - lock:contention_begin/end: kernel lock contention, count and time.
 *  - block_rq_issue -> block_rq_complete: latency histogram per disk.
 *
 * Per-thread state lives in TASK_STORAGE on the tp_btf path (the kernel
 * frees it with the task; nothing fills up under churn) and in a hash by
 * tid on the raw_tp path. The agent reads deltas once per interval with the
 * task iterator (`reported` is the iterator's copy, so neither side needs
 * atomics); a thread's final switch-out sends its last delta through the
 * per-CPU exit rings (pw_exit_ring.h; sched_process_free, with a ring kind
 * of its own, only if it could not). Nothing else is sent per event. The
 * agent's own threads (agent_tgid) and the idle task are skipped. */
#ifndef PERFWIRE_BPF_CONTENTION_CONTENTION_BPF_H_
#define PERFWIRE_BPF_CONTENTION_CONTENTION_BPF_H_

// clang-format off: vmlinux.h must come before the libbpf headers.
#include "vmlinux.h"
// clang-format on

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "contention_shared.h"
#include "pw_exit_ring.bpf.h"
#include "pw_helpers.bpf.h"

/* Maps and settings are defined once, in maps.bpf.c (PW_CT_DEFINE_MAPS);
 * every other part sees the same declarations as extern, and the linker
 * checks that they match. */
#ifdef PW_CT_DEFINE_MAPS
#define PW_CT_MAP
#else
#define PW_CT_MAP extern
#endif
/* Set by the agent between open and load. */
extern const volatile __u32 agent_tgid;
extern const volatile bool use_task_storage;    /* false on the raw_tp path */
extern const volatile __u32 exit_slots_per_cpu; /* power of two */

#if defined(__TARGET_ARCH_x86)
#define PW_NR_FUTEX 202
#define PW_NR_FUTEX_WAITV 449
#define PW_REGS_NR_FIELD orig_ax
#define PW_REGS_ARG2_FIELD si
#elif defined(__TARGET_ARCH_arm64)
#define PW_NR_FUTEX 98
#define PW_NR_FUTEX_WAITV 449
#define PW_REGS_NR_FIELD syscallno
#define PW_REGS_ARG2_FIELD regs[1]
#else
#error "contention.bpf.h: add the futex syscall numbers for this arch"
#endif
/* Direct loads: only for trusted (tp_btf, helper-returned) pt_regs. */
#define PW_REGS_NR(r) ((r)->PW_REGS_NR_FIELD)
#define PW_REGS_ARG2(r) ((r)->PW_REGS_ARG2_FIELD)

PW_CT_MAP struct {
  __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct pw_ct_state);
} ct_task SEC(".maps");

/* raw_tp path only; the agent shrinks it to 1 entry on the tp_btf path. */
PW_CT_MAP struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, 32768);
  __type(key, __u32);
  __type(value, struct pw_ct_state);
} ct_tid SEC(".maps");

/* The exit rings (pw_exit_ring.h), sized by the agent before load:
 * exit_slots_per_cpu records per CPU in each kind's array, PW_CT_EXIT_KINDS
 * positions per CPU in ct_exit_pos. */
PW_CT_MAP struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(map_flags, BPF_F_MMAPABLE);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct pw_ct_record);
} ct_exit_switch SEC(".maps");

PW_CT_MAP struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(map_flags, BPF_F_MMAPABLE);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct pw_ct_record);
} ct_exit_free SEC(".maps");

PW_CT_MAP struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(map_flags, BPF_F_MMAPABLE);
  __uint(max_entries, PW_CT_EXIT_KINDS);
  __type(key, __u32);
  __type(value, struct pw_ring_pos);
} ct_exit_pos SEC(".maps");

/* Only to wake the agent when an exit ring is half full. */
PW_CT_MAP struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} ct_exit_wakeups SEC(".maps");

PW_CT_MAP struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, __u64);
  __type(value, struct pw_ct_inflight);
} ct_inflight SEC(".maps");

PW_CT_MAP struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 256);
  __type(key, __u32);
  __type(value, struct pw_ct_disk);
} ct_disks SEC(".maps");

PW_CT_MAP struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, 16384);
  __type(key, struct pw_ct_wake_key);
  __type(value, struct pw_ct_wake_value);
} ct_wakes SEC(".maps");

PW_CT_MAP struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct pw_ct_cpu_hist);
} ct_cpu_rq SEC(".maps");

PW_CT_MAP struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, PW_CT_LOST_CAUSE_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} ct_lost SEC(".maps");

/* Per CPU: the switch-in that the running thread's next switch-out settles
 * (on_switch). tid 0: none. */
#define PW_CT_NO_SLOT 0xffffffffU
struct pw_ct_arrival {
  __u32 tid;
  __u32 hist_slot; /* PW_CT_NO_SLOT: it was not queued */
  __u64 at;        /* rq clock at the switch-in */
  __u64 wait;      /* the run-queue wait it ended */
  __u64 run_delay; /* sched_info.run_delay before that wait was added */
};

PW_CT_MAP struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct pw_ct_arrival);
} ct_arrival SEC(".maps");

/* Scratch for the iterator's record (too big for the BPF stack). */
PW_CT_MAP struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct pw_ct_record);
} ct_scratch SEC(".maps");

static __always_inline void count_lost_n(__u32 cause, __u64 events) {
  __u64 *n = bpf_map_lookup_elem(&ct_lost, &cause);
  if (n) *n += events; /* per-CPU slot: no atomic needed */
}
#define count_lost(cause) count_lost_n(cause, 1)

#define hist_slot(v) pw_log2_slot(v, PW_CT_HIST_SLOTS)

/* The thread's state, created on first use when `create`. NULL when it
 * could not be had; counted as lost only when creation was asked for. A new
 * state takes the thread's run-queue totals so far as its base: deltas
 * start when we first see the thread. */
static __always_inline struct pw_ct_state *state_of_at(
    bool btf, struct task_struct *t, __u32 tid, bool create,
    const struct pw_ct_arrival *unsettled) {
  struct pw_ct_state *s;
  if (use_task_storage) {
    s = bpf_task_storage_get(&ct_task, t, 0,
                             create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
  } else {
    if (create) {
      static const struct pw_ct_state zero = {};
      bool created;
      s = pw_lookup_or_init(&ct_tid, &tid, &zero, &created);
    } else {
      s = bpf_map_lookup_elem(&ct_tid, &tid);
    }
  }
  if (!s) {
    if (create) count_lost(PW_CT_LOST_STATE);
    return s;
  }
  if (!s->ready) {
    /* A thread that never ran yet keeps every wait of its life, including
     * one the kernel closed when it migrated before its first run. */
    __u64 pcount = PW_READ(btf, t, sched_info.pcount);
    __u64 run_delay = PW_READ(btf, t, sched_info.run_delay);
    if (unsettled && unsettled->hist_slot < PW_CT_HIST_SLOTS && pcount) {
      /* Made to settle a switch-in the kernel has already counted: that
       * wait belongs to the new state. */
      pcount -= 1;
      run_delay = unsettled->run_delay;
    }
    s->pcount_base = pcount;
    s->run_delay_base = pcount ? run_delay : 0;
    s->ready = 1;
  }
  return s;
}

static __always_inline struct pw_ct_state *state_of(bool btf,
                                                    struct task_struct *t,
                                                    __u32 tid, bool create) {
  return state_of_at(btf, t, tid, create, NULL);
}

static __always_inline bool skip_task(__u32 tid, __u32 tgid) {
  return tid == 0 || tgid == agent_tgid;
}

#endif /* PERFWIRE_BPF_CONTENTION_CONTENTION_BPF_H_ */
