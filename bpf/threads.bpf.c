// SPDX-License-Identifier: GPL-2.0
/* Per-thread counters with no per-switch cost.
 *
 * The kernel already keeps exact per-task counters (CPU time, context
 * switches, faults, syscall bytes). We read them instead of re-counting:
 *   - once per interval the agent takes a snapshot of every live task, one
 *     pw_thread_sample each: snapshot_walk, an open-coded task iterator in a
 *     syscall program the agent runs (kernel >= 6.7), writes them into the
 *     mmap'ed array snapshot_out; where that does not load, iter/task
 *     (snapshot_threads) writes them into the iterator's seq_file. Tasks
 *     that have not run since the previous snapshot are left out, except in
 *     the full snapshots the agent asks for (full_snapshot). Both walks miss
 *     pid 1's threads on some kernels (6.18 here); the agent reads those
 *     from /proc;
 *   - at exit, sched_process_exit, in the dying thread's own context, sends
 *     its identity and counters so far (pw_thread_sample) through per-CPU
 *     rings the agent maps (pw_exit_ring.h), so nothing a thread did is
 *     lost when it dies between two snapshots. With --exit_last_slice the
 *     agent also loads sched_process_free, which fires after the last slice
 *     and final switch and sends what those changed (pw_thread_final); the
 *     agent joins the two by (tid, start time). The exit record is the one
 *     that always arrives: on some kernels (6.18 here) sched_process_free
 *     never fires for ~0.1% of exiting threads;
 *   - block_bio_queue, the one hook per IO event: the kernel does not count
 *     bios per submitting task, so we do, in `block_io`, keyed by tid and
 *     start time; the agent reads the map with each snapshot and deletes a
 *     dead task's entry when it takes its exit record.
 * Losses (a full exit ring, a full block_io map) are counted per CPU in
 * `lost`. The agent's own threads (agent_tgid) are skipped everywhere.
 *
 * Every event hook exists as tp_btf and raw_tp, and the snapshot as the walk
 * and iter/task; the loader keeps one of each pair. */
// clang-format off: vmlinux.h must come before the libbpf headers.
#include "vmlinux.h"
// clang-format on

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "pw_exit_ring.bpf.h"
#include "pw_helpers.bpf.h"
#include "threads_shared.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the agent between open and load. */
const volatile __u32 agent_tgid = 0;
const volatile __u32 exit_slots_per_cpu = 64; /* power of two */

#define REQ_OP_BITS 8
#define REQ_OP_MASK ((1U << REQ_OP_BITS) - 1)
#define PW_REQ_OP_READ 0
#define PW_REQ_OP_WRITE 1

/* Written by the agent before each snapshot (.data is mmap'ed). */
__u32 full_snapshot = 1; /* 1: a full sample for every task */
__u64 snapshot_seq = 0;  /* +1 per snapshot */

/* Sized by the agent to the possible CPUs. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct pw_cpu_clock);
} cpu_clocks SEC(".maps");

/* The exit rings (threads_shared.h, pw_exit_ring.h), sized by the agent
 * before load: exit_slots_per_cpu entries per CPU in the first two,
 * PW_EXIT_KINDS per CPU in exit_pos. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(map_flags, BPF_F_MMAPABLE);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct pw_thread_sample);
} exit_samples SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(map_flags, BPF_F_MMAPABLE);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct pw_thread_final);
} exit_finals SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(map_flags, BPF_F_MMAPABLE);
  __uint(max_entries, PW_EXIT_KINDS);
  __type(key, __u32);
  __type(value, struct pw_ring_pos);
} exit_pos SEC(".maps");

/* Only to wake the agent when an exit ring is half full; it drains the
 * rings once per interval otherwise. */
struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} exit_wakeups SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(map_flags, BPF_F_NO_PREALLOC); /* capacity costs nothing until used */
  __uint(max_entries, 32768);
  __type(key, struct pw_block_io_key);
  __type(value, struct pw_block_io);
} block_io SEC(".maps");

/* Entries in block_io: +1 per insert here, -1 per delete by the agent
 * (through the mmap'ed .bss). Rare, so one shared atomic. Lets the agent
 * skip reading an empty map, whose batch read still walks and locks every
 * bucket. */
__s64 block_io_count = 0;

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, PW_LOST_CAUSE_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} lost SEC(".maps");

static __always_inline void count_lost(__u32 cause) {
  __u64 *n = bpf_map_lookup_elem(&lost, &cause);
  if (n) *n += 1; /* per-CPU slot: no atomic needed */
}

/* Through a BTF-typed pointer (iter/task, tp_btf) fields are plain loads,
 * several times cheaper than one probe-read helper call each. */
static __always_inline void fill_counters_trusted(struct task_struct *t,
                                                  struct pw_thread_sample *s) {
  s->tid = t->pid;
  s->pid = t->tgid;
  s->start_time_ns = t->start_time;
  s->cgroup_id = t->cgroups->dfl_cgrp->kn->id;
  s->on_cpu_ns = t->se.sum_exec_runtime;
  s->nvcsw = t->nvcsw;
  s->nivcsw = t->nivcsw;
  s->min_flt = t->min_flt;
  s->maj_flt = t->maj_flt;
  s->rchar = t->ioac.rchar;
  s->wchar = t->ioac.wchar;
  /* comm as two 8-byte loads: no helper call. */
  __u64 *comm = (__u64 *)s->comm;
  comm[0] = *(const __u64 *)&t->comm[0];
  comm[1] = *(const __u64 *)&t->comm[8];
}

/* raw_tp hands over a plain address: every read goes through the helper. */
static __always_inline void fill_counters_probed(struct task_struct *t,
                                                 struct pw_thread_sample *s) {
  s->tid = BPF_CORE_READ(t, pid);
  s->pid = BPF_CORE_READ(t, tgid);
  s->start_time_ns = BPF_CORE_READ(t, start_time);
  s->cgroup_id = BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
  s->on_cpu_ns = BPF_CORE_READ(t, se.sum_exec_runtime);
  s->nvcsw = BPF_CORE_READ(t, nvcsw);
  s->nivcsw = BPF_CORE_READ(t, nivcsw);
  s->min_flt = BPF_CORE_READ(t, min_flt);
  s->maj_flt = BPF_CORE_READ(t, maj_flt);
  s->rchar = BPF_CORE_READ(t, ioac.rchar);
  s->wchar = BPF_CORE_READ(t, ioac.wchar);
  BPF_CORE_READ_INTO(&s->comm, t, comm);
}

/* Block IO is not read per task: a hash lookup each would cost more than
 * all the loads above. The agent fills it in from the (small) block_io map:
 * once per interval for live tasks, when it delivers the exit for dead ones. */
static __always_inline void zero_block_io(struct pw_thread_sample *s) {
  s->block_read_bytes = 0;
  s->block_write_bytes = 0;
  s->block_read_ops = 0;
  s->block_write_ops = 0;
}

/* Has `t` not run since the previous snapshot read it? Then none of its
 * counters moved: each one changes only while the task runs (CPU time,
 * faults, syscall bytes) or at its switch-out (switch counts). The kernel
 * stamps se.exec_start with its CPU's rq->clock_task at switch-in, at every
 * tick while it runs and at switch-out; a stamp not past what that CPU's
 * clock read during the previous snapshot means the task has been off CPU
 * since before that snapshot. A stamp of 0 (a new task, or a fair task
 * migrated at wakeup) or no previous reading count as changed. Only fields
 * the walk has already brought into cache and the se line are read: this
 * path is for the thousands of idle threads. cgroup and comm can change
 * while a task sleeps: the agent asks for a full snapshot periodically. */
/* Before 5.16 the CPU lived in task_struct itself. */
struct task_struct___pre_5_16 {
  unsigned int cpu;
} __attribute__((preserve_access_index));

static __always_inline bool unchanged_since_last_snapshot(
    struct task_struct *t) {
  /* A kernel without these fields (no CONFIG_FAIR_GROUP_SCHED: no cfs_rq->rq)
   * gets full samples every time rather than a program that cannot load. */
  if (!bpf_core_field_exists(t->se.cfs_rq) ||
      !bpf_core_field_exists(struct cfs_rq, rq))
    return false;
  __u32 cpu; /* the CPU it last ran on */
  if (bpf_core_field_exists(t->thread_info.cpu))
    cpu = t->thread_info.cpu;
  else
    cpu = BPF_CORE_READ((struct task_struct___pre_5_16 *)t, cpu);
  struct pw_cpu_clock *c = bpf_map_lookup_elem(&cpu_clocks, &cpu);
  if (!c) return false;
  if (c->snapshot != snapshot_seq) {
    c->prev = c->snapshot + 1 == snapshot_seq ? c->now : 0;
    c->now = t->se.cfs_rq->rq->clock_task;
    c->snapshot = snapshot_seq;
  }
  __u64 stamp = t->se.exec_start;
  return !full_snapshot && stamp && c->prev && stamp <= c->prev;
}

SEC("iter/task")
int snapshot_threads(struct bpf_iter__task *ctx) {
  struct task_struct *t = ctx->task;
  if (!t) return 0;
  /* Nothing for a task that has not run: the agent keeps what it has. This
   * test comes before the agent check because tgid sits on a cache line the
   * idle path otherwise never touches (one miss per idle thread). */
  if (unchanged_since_last_snapshot(t) || t->tgid == agent_tgid) return 0;
  struct pw_thread_sample s;
  fill_counters_trusted(t, &s);
  zero_block_io(&s);
  bpf_seq_write(ctx->meta->seq, &s, sizeof(s));
  return 0;
}

/* ---- Snapshot, preferred form: one program run walks every thread ----
 *
 * An open-coded task iterator (kernel >= 6.7) in a syscall program that the
 * agent runs with BPF_PROG_TEST_RUN once per interval. iter/task (above)
 * runs a program per task from the kernel's pid walk, taking and dropping a
 * reference on each task and going through seq_file: ~0.7 us per task here
 * before our program adds its ~0.25 us. This walks the thread lists under
 * RCU in one run: ~0.2 us per task, the skip test included (measured with
 * 2,000 idle threads). Samples go to `snapshot_out`, an array the agent
 * mmaps and reads in place. When it is full the run stops; the agent reads
 * it and runs the walk again from where it stopped (walk_skip). */
extern int bpf_iter_task_new(struct bpf_iter_task *it, struct task_struct *task,
                             unsigned int flags) __weak __ksym;
extern struct task_struct *bpf_iter_task_next(
    struct bpf_iter_task *it) __weak __ksym;
extern void bpf_iter_task_destroy(struct bpf_iter_task *it) __weak __ksym;
extern void bpf_rcu_read_lock(void) __weak __ksym;
extern void bpf_rcu_read_unlock(void) __weak __ksym;

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(map_flags, BPF_F_MMAPABLE);
  __uint(max_entries, 1); /* set by the agent */
  __type(key, __u32);
  __type(value, struct pw_thread_sample);
} snapshot_out SEC(".maps");

/* snapshot_walk's input, set by the agent before each run. */
__u64 walk_skip = 0; /* tasks to pass over first: where the last run stopped */
/* Its outputs. */
__u64 walk_visited = 0;  /* tasks passed, the skipped ones included */
__u32 walk_samples = 0;  /* entries written to snapshot_out, from index 0 */
__u32 walk_complete = 0; /* 1: reached the last task */

SEC("syscall")
int snapshot_walk(void *ctx) {
  struct bpf_iter_task it;
  struct task_struct *t;
  __u64 visited = 0;
  __u32 n = 0;
  __u32 complete = 1;
  bpf_rcu_read_lock();
  bpf_iter_task_new(&it, NULL, BPF_TASK_ITER_ALL_THREADS);
  while ((t = bpf_iter_task_next(&it))) {
    if (visited < walk_skip) {
      visited++;
      continue;
    }
    /* As in snapshot_threads: the skip test before the tgid line. */
    if (unchanged_since_last_snapshot(t) || t->tgid == agent_tgid) {
      visited++;
      continue;
    }
    struct pw_thread_sample *s = bpf_map_lookup_elem(&snapshot_out, &n);
    if (!s) {
      complete = 0; /* full: this task starts the next run */
      break;
    }
    fill_counters_trusted(t, s);
    zero_block_io(s);
    n++;
    visited++;
  }
  bpf_iter_task_destroy(&it);
  bpf_rcu_read_unlock();
  walk_visited = visited;
  walk_samples = n;
  walk_complete = complete;
  return 0;
}

/* This CPU's exit ring of `kind` (pw_exit_ring.bpf.h). */
static __always_inline struct pw_ring_pos *exit_ring(__u32 kind, __u32 *slot) {
  return pw_exit_ring_reserve(&exit_pos, PW_EXIT_KINDS, kind,
                              exit_slots_per_cpu, slot);
}

static __always_inline void publish_exit_record(struct pw_ring_pos *p) {
  pw_exit_ring_publish(p, exit_slots_per_cpu, &exit_wakeups);
}

/* The exit record: everything but the last slice. `t` is the exiting thread
 * itself (current). Block IO is left zero: the agent takes the task's
 * block_io entry (keyed by tid and start time) when it delivers the exit;
 * looking it up here costs one more cache line per exit. */
static __always_inline int on_task_exit(struct task_struct *t, bool trusted) {
  __u32 tgid = trusted ? t->tgid : BPF_CORE_READ(t, tgid);
  if (tgid == agent_tgid) return 0;
  __u32 slot = 0;
  struct pw_ring_pos *ring = exit_ring(PW_EXIT_SAMPLES, &slot);
  struct pw_thread_sample *s =
      ring ? bpf_map_lookup_elem(&exit_samples, &slot) : NULL;
  if (!s) {
    count_lost(PW_LOST_EXIT_RECORD);
    return 0;
  }
  if (trusted) {
    fill_counters_trusted(t, s);
  } else {
    fill_counters_probed(t, s);
  }
  zero_block_io(s);
  publish_exit_record(ring);
  return 0;
}

/* sched_process_exit passes the exiting task (current); kernels before 6.16
 * pass only that, later ones a group_dead flag too. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(task_exit_btf, struct task_struct *t) {
  return on_task_exit(t, true);
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(task_exit_raw, struct task_struct *t) {
  return on_task_exit(t, false);
}

/* After the last slice and the final switch (one RCU grace period later, so
 * the task's lines are cold): only what can still have moved since the exit
 * record. Three cache lines: pid/tgid, the counters line, se. */
static __always_inline int on_task_free(struct task_struct *t, bool trusted) {
  __u32 tgid = trusted ? t->tgid : BPF_CORE_READ(t, tgid);
  if (tgid == agent_tgid) return 0;
  /* A full ring loses only the last slice: the agent releases the exit
   * sample without its final after a wait, and counts it. */
  __u32 slot = 0;
  struct pw_ring_pos *ring = exit_ring(PW_EXIT_FINALS, &slot);
  struct pw_thread_final *f =
      ring ? bpf_map_lookup_elem(&exit_finals, &slot) : NULL;
  if (!f) return 0;
  f->pad = 0;
  if (trusted) {
    f->tid = t->pid;
    f->start_time_ns = t->start_time;
    f->on_cpu_ns = t->se.sum_exec_runtime;
    f->nvcsw = t->nvcsw;
    f->nivcsw = t->nivcsw;
    f->min_flt = t->min_flt;
    f->maj_flt = t->maj_flt;
  } else {
    f->tid = BPF_CORE_READ(t, pid);
    f->start_time_ns = BPF_CORE_READ(t, start_time);
    f->on_cpu_ns = BPF_CORE_READ(t, se.sum_exec_runtime);
    f->nvcsw = BPF_CORE_READ(t, nvcsw);
    f->nivcsw = BPF_CORE_READ(t, nivcsw);
    f->min_flt = BPF_CORE_READ(t, min_flt);
    f->maj_flt = BPF_CORE_READ(t, maj_flt);
  }
  publish_exit_record(ring);
  return 0;
}

SEC("tp_btf/sched_process_free")
int BPF_PROG(task_free_btf, struct task_struct *t) {
  return on_task_free(t, true);
}

SEC("raw_tp/sched_process_free")
int BPF_PROG(task_free_raw, struct task_struct *t) {
  return on_task_free(t, false);
}

static __always_inline int on_bio_queue(bool btf, struct bio *bio) {
  __u64 id = bpf_get_current_pid_tgid();
  __u32 tid = (__u32)id;
  if (tid == 0 || (__u32)(id >> 32) == agent_tgid) return 0;

  __u32 op = BPF_CORE_READ(bio, bi_opf) & REQ_OP_MASK;
  __u64 bytes = BPF_CORE_READ(bio, bi_iter.bi_size);
  if ((op != PW_REQ_OP_READ && op != PW_REQ_OP_WRITE) || bytes == 0) return 0;

  struct pw_block_io_key key = {.tid = tid, .pad = 0};
  if (btf) {
    key.start_time_ns = bpf_get_current_task_btf()->start_time;
  } else {
    struct task_struct *me = (struct task_struct *)bpf_get_current_task();
    key.start_time_ns = BPF_CORE_READ(me, start_time);
  }
  static const struct pw_block_io zero = {};
  bool created;
  struct pw_block_io *io = pw_lookup_or_init(&block_io, &key, &zero, &created);
  if (!io) {
    count_lost(PW_LOST_BLOCK_IO);
    return 0;
  }
  if (created) __sync_fetch_and_add(&block_io_count, 1);
  if (op == PW_REQ_OP_READ) {
    __sync_fetch_and_add(&io->read_bytes, bytes);
    __sync_fetch_and_add(&io->read_ops, 1);
  } else {
    __sync_fetch_and_add(&io->write_bytes, bytes);
    __sync_fetch_and_add(&io->write_ops, 1);
  }
  return 0;
}

SEC("tp_btf/block_bio_queue")
int BPF_PROG(bio_queue_btf, struct bio *bio) { return on_bio_queue(true, bio); }

SEC("raw_tp/block_bio_queue")
int BPF_PROG(bio_queue_raw, struct bio *bio) {
  return on_bio_queue(false, bio);
}
