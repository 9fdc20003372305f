/* Structs shared by bpf/contention.bpf.c and the agent. Fixed-width types
 * only; the layout is the wire format between kernel and user space. */
#ifndef PERFWIRE_BPF_CONTENTION_SHARED_H_
#define PERFWIRE_BPF_CONTENTION_SHARED_H_

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "pw_exit_ring.h"

/* Log2 latency histograms: slot i counts waits of [2^i, 2^(i+1)) ns; slot 0
 * also holds 0 ns, the last slot everything from 2^31 ns (~2.1 s) up. */
#define PW_CT_HIST_SLOTS 32

/* One thread's contention counters. Cumulative in the kernel's per-thread
 * state; per-interval deltas in the records the agent reads. u64 only: the
 * kernel side walks it as an array of words. */
struct pw_ct_counters {
  __u64 run_queue_wait_ns;    /* runnable (woken or preempted) -> switched in:
                                 the kernel's sched_info.run_delay (schedstat) */
  __u64 run_queue_wait_count; /* switch-ins that ended such a wait (pcount) */
  __u64 futex_sleep_ns; /* blocked inside a FUTEX_WAIT* syscall: switch-out ->
                           wakeup */
  __u64 futex_sleep_count;
  __u64 lock_sleep_ns; /* blocked while in kernel lock contention */
  __u64 lock_sleep_count;
  __u64 io_sleep_ns; /* blocked with task->in_iowait set (io_schedule) */
  __u64 io_sleep_count;
  __u64 other_sleep_ns; /* any other blocking: timers, poll, pipes, ... */
  __u64 other_sleep_count;
  __u64 futex_wait_count; /* FUTEX_WAIT* syscalls that returned (sys_enter/exit)
                           */
  __u64 futex_wait_ns;    /* their time from entry to exit */
  __u64 lock_contention_count; /* lock:contention_begin -> contention_end */
  __u64 lock_contention_ns;
  __u64 run_queue_wait_hist[PW_CT_HIST_SLOTS];
};
#define PW_CT_COUNTER_WORDS (sizeof(struct pw_ct_counters) / sizeof(__u64))

/* Sleep causes recorded at switch-out (pw_ct_state.sleep_cause). */
enum pw_ct_cause {
  PW_CT_CAUSE_OTHER = 0,
  PW_CT_CAUSE_FUTEX = 1,
  PW_CT_CAUSE_LOCK = 2,
  PW_CT_CAUSE_IO = 3,
};

/* Per-thread state: TASK_STORAGE (tp_btf) or a hash by tid (raw_tp).
 * Timestamps here are the run-queue clock (rq->clock), the clock of the
 * kernel's own sched_info run-queue accounting, which this state extends. */
struct pw_ct_state {
  __u64 sleep_ts;        /* blocked since (switch-out); 0: not blocked */
  __u64 sleep_run_delay; /* task's sched_info.run_delay at that switch-out */
  __u64 futex_ts;        /* inside a FUTEX_WAIT* syscall since; 0: not */
  __u64 lock_ts;         /* in kernel lock contention since; 0: not */
  __u64 wake_pending;    /* uncounted wakeups by one waker: PW_CT_WAKE_* */
  __u64 run_delay_base;  /* sched_info.run_delay when the state was made */
  __u64 pcount_base;     /* sched_info.pcount when the state was made */
  __u32 sleep_cause;
  __u32 ready; /* the bases are set */
  /* The iterator and the final switch-out both read and commit a delta:
   * each holds `busy` (compare-and-swap 0 -> 1) while it does. */
  __u32 busy;
  __u32 final_sent; /* the exit record went out at the final switch-out */
  struct pw_ct_counters cur; /* written only on behalf of the thread itself,
                                except run_queue_wait_ns/count, which the
                                iterator and free hook take from sched_info */
  struct pw_ct_counters reported; /* written only by the iterator / free hook */
};

/* pw_ct_state.wake_pending packs the wakee's last waker and the wakeups it
 * made that are not yet in the ct_wakes map into one word, so the waker and
 * the reader hand it over with single atomic operations: waker tid (22 bits:
 * pid_max is at most 2^22), waker pid (22 bits), count (20 bits). */
#define PW_CT_WAKE_COUNT_BITS 20
#define PW_CT_WAKE_COUNT_MASK ((1ULL << PW_CT_WAKE_COUNT_BITS) - 1)
#define PW_CT_WAKE_ID_MASK 0x3fffffULL /* 22 bits */
#define PW_CT_WAKE_TID_SHIFT (PW_CT_WAKE_COUNT_BITS + 22)

/* One thread's interval delta: from the task iterator (live) or an exit
 * ring (final, exited = 1). */
struct pw_ct_record {
  __u32 tid;
  __u32 pid;
  __u64 start_time_ns; /* task->start_time, CLOCK_MONOTONIC */
  __u32 exited;
  __u32 pad;
  struct pw_ct_counters delta;
};

/* Exit records (pw_ct_record, exited = 1) travel through the per-CPU rings
 * of pw_exit_ring.h, one per CPU and kind, i.e. per producing hook:
 * PW_CT_EXIT_SWITCH (the final switch-out, array `ct_exit_switch`) and
 * PW_CT_EXIT_FREE (the sched_process_free fallback, `ct_exit_free`), each of
 * `exit_slots_per_cpu` slots; their positions in `ct_exit_pos`. */
enum pw_ct_exit_kind {
  PW_CT_EXIT_SWITCH = 0,
  PW_CT_EXIT_FREE = 1,
  PW_CT_EXIT_KINDS = 2,
};

/* Block request latency per disk, cumulative; keyed by dev_t (MKDEV). */
struct pw_ct_disk {
  __u64 request_count;
  __u64 latency_total_ns;
  __u64 latency_hist[PW_CT_HIST_SLOTS];
  char name[32];
};

/* An in-flight block request, keyed by its address. */
struct pw_ct_inflight {
  __u64 issue_ts;
  __u32 dev;
  __u32 pad;
};

/* waker -> wakee pair, counted while the wakee was blocked. */
struct pw_ct_wake_key {
  __u32 waker_tid;
  __u32 wakee_tid;
};
struct pw_ct_wake_value {
  __u64 count;
  __u32 waker_pid;
  __u32 wakee_pid;
};

/* Run-queue latency of every thread switched in on one CPU, cumulative
 * (one per-CPU array slot). */
struct pw_ct_cpu_hist {
  __u64 wait_count;
  __u64 wait_total_ns;
  __u64 hist[PW_CT_HIST_SLOTS];
};

/* Indexes of the per-CPU `ct_lost` array: why an event was not counted. */
enum pw_ct_lost_cause {
  PW_CT_LOST_STATE = 0, /* per-thread state unavailable (map full, nested),
                           or a switch-out not seen (its wait unsettled) */
  PW_CT_LOST_EXIT_RECORD = 1, /* the CPU's exit ring (of the hook) full */
  PW_CT_LOST_INFLIGHT = 2,    /* in-flight block request map full */
  PW_CT_LOST_WAKE_EDGE = 3,   /* waker->wakee map full */
  PW_CT_LOST_DISK = 4,        /* per-disk map full */
  PW_CT_LOST_CAUSE_COUNT = 5,
};

#endif /* PERFWIRE_BPF_CONTENTION_SHARED_H_ */
