/* Structs shared by bpf/threads.bpf.c and the agent. Fixed-width types only;
 * the layout is the wire format between kernel and user space. */
#ifndef PERFWIRE_BPF_THREADS_SHARED_H_
#define PERFWIRE_BPF_THREADS_SHARED_H_

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "pw_exit_ring.h"

#define PW_COMM_LEN 16

/* Cumulative counters of one task, read from the kernel's own accounting
 * (task_struct), plus the block IO this task submitted (counted by us). */
struct pw_thread_sample {
  __u32 tid;           /* task->pid */
  __u32 pid;           /* task->tgid */
  __u64 start_time_ns; /* task->start_time, CLOCK_MONOTONIC */
  __u64 cgroup_id;     /* task->cgroups->dfl_cgrp->kn->id */
  __u64 on_cpu_ns;     /* task->se.sum_exec_runtime */
  __u64 nvcsw;
  __u64 nivcsw;
  __u64 min_flt;
  __u64 maj_flt;
  __u64 rchar; /* task->ioac.rchar */
  __u64 wchar; /* task->ioac.wchar */
  __u64 block_read_bytes;
  __u64 block_write_bytes;
  __u64 block_read_ops;
  __u64 block_write_ops;
  char comm[PW_COMM_LEN];
};

/* What a thread's last slice and final switch can still change after its
 * exit record (pw_thread_sample from sched_process_exit), read at
 * sched_process_free. The agent joins the two by (tid, start_time_ns). */
struct pw_thread_final {
  __u32 tid;
  __u32 pad;
  __u64 start_time_ns;
  __u64 on_cpu_ns; /* task->se.sum_exec_runtime */
  __u64 nvcsw;
  __u64 nivcsw;
  __u64 min_flt;
  __u64 maj_flt;
};

/* Exit records travel through the per-CPU rings of pw_exit_ring.h, one
 * ring per CPU and kind: PW_EXIT_SAMPLES (pw_thread_sample, array
 * `exit_samples`) and PW_EXIT_FINALS (pw_thread_final, `exit_finals`), each
 * of `exit_slots_per_cpu` slots; their positions in `exit_pos`. */
enum pw_exit_kind {
  PW_EXIT_SAMPLES = 0,
  PW_EXIT_FINALS = 1,
  PW_EXIT_KINDS = 2,
};

/* Per CPU, the run-queue task clock (rq->clock_task) the iterator saw in
 * the current and the previous snapshot (array `cpu_clocks`). */
struct pw_cpu_clock {
  __u64 snapshot; /* snapshot_seq of `now` */
  __u64 now;
  __u64 prev; /* of snapshot - 1; 0: unknown */
};

/* Key of map `block_io`: a tid and its task's start time, so that a reused
 * tid never adds to a dead thread's entry before the agent has taken it. */
struct pw_block_io_key {
  __u32 tid;
  __u32 pad;
  __u64 start_time_ns; /* task->start_time */
};

/* Block IO submitted by one task (map `block_io`). Entries of exited tasks
 * are read and deleted by the agent, not at exit (see on_task_free). */
struct pw_block_io {
  __u64 read_bytes;
  __u64 write_bytes;
  __u64 read_ops;
  __u64 write_ops;
};

/* Indexes of the per-CPU `lost` array: why an event was not counted. */
enum pw_lost_cause {
  PW_LOST_EXIT_RECORD = 0, /* exit ring full at sched_process_exit */
  PW_LOST_BLOCK_IO = 1,    /* block_io map full */
  PW_LOST_CAUSE_COUNT = 2,
};

#endif /* PERFWIRE_BPF_THREADS_SHARED_H_ */
