// SPDX-License-Identifier: GPL-2.0
/* Switches, wakeups, the per-interval iterator and exits of the contention
 * object (see contention.bpf.h). */
#include "contention.bpf.h"

/* Is `t` (switching out, blocked) inside a FUTEX_WAIT*-type syscall? */
static __always_inline bool in_futex_wait(struct task_struct *t) {
  if (!use_task_storage) return false; /* raw_tp: only via sys_enter */
  struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(t);
  if (!regs) return false;
  long nr = PW_REGS_NR(regs);
  if (nr == PW_NR_FUTEX_WAITV) return true;
  if (nr != PW_NR_FUTEX) return false;
  return pw_futex_op_waits(PW_REGS_ARG2(regs));
}

/* Every FUTEX_WAIT*-type sleep but the priority-inheritance ones (LOCK_PI,
 * LOCK_PI2: an rt_mutex wait) is TASK_FREEZABLE from 6.1 on, and pipes,
 * sockets and epoll are not: the register check above (~30 ns) is skipped
 * for them. PI sleeps count as futex only with the syscall hooks. */
extern unsigned int LINUX_KERNEL_VERSION __kconfig;
/* io_schedule() sleeps (in_iowait) are uninterruptible (also KILLABLE, IDLE):
 * in_iowait, on a cache line of its own, is read only for those.
 * PW_TASK_DEAD is the prev_state of a thread's last switch. */

static __always_inline bool may_be_futex_wait(unsigned int prev_state) {
  return LINUX_KERNEL_VERSION < KERNEL_VERSION(6, 1, 0) ||
         (prev_state & PW_TASK_FREEZABLE);
}

/* ---- waker -> wakee pairs ------------------------------------------------ */

static __always_inline __u64 wake_id(__u32 waker_tid, __u32 waker_pid) {
  return ((__u64)(waker_tid & PW_CT_WAKE_ID_MASK) << PW_CT_WAKE_TID_SHIFT) |
         ((__u64)(waker_pid & PW_CT_WAKE_ID_MASK) << PW_CT_WAKE_COUNT_BITS);
}

/* Adds a wake_pending word's count to its pair in ct_wakes. */
static __always_inline void add_wake_edge(__u64 word, __u32 wakee_tid,
                                          __u32 wakee_pid) {
  __u64 n = word & PW_CT_WAKE_COUNT_MASK;
  if (!n) return;
  struct pw_ct_wake_key key = {
      .waker_tid = (__u32)(word >> PW_CT_WAKE_TID_SHIFT),
      .wakee_tid = wakee_tid};
  struct pw_ct_wake_value init = {
      .count = n,
      .waker_pid =
          (__u32)((word >> PW_CT_WAKE_COUNT_BITS) & PW_CT_WAKE_ID_MASK),
      .wakee_pid = wakee_pid};
  bool created;
  struct pw_ct_wake_value *v =
      pw_lookup_or_init(&ct_wakes, &key, &init, &created);
  if (!v) {
    count_lost_n(PW_CT_LOST_WAKE_EDGE, n);
  } else if (!created) {
    __sync_fetch_and_add(&v->count, n);
  }
}

/* The reader's side: moves the pending count to ct_wakes, keeping the waker
 * so the next wakeup by it stays a single add. Wakeups of one task are
 * serialized by the kernel (p->pi_lock); this races only with them, and a
 * lost compare-and-swap leaves the count for the next reader. */
static __always_inline void collect_wakes(struct pw_ct_state *s, __u32 tid,
                                          __u32 pid) {
  __u64 w = s->wake_pending;
  if (!(w & PW_CT_WAKE_COUNT_MASK)) return;
  if (__sync_val_compare_and_swap(&s->wake_pending, w,
                                  w & ~PW_CT_WAKE_COUNT_MASK) == w)
    add_wake_edge(w, tid, pid);
}

/* ---- deltas ------------------------------------------------------------- */

/* Run-queue totals come from the kernel's sched_info (written only by the
 * reader, so the delta below stays single-writer per word). */
static __always_inline void take_run_queue_totals(bool btf,
                                                  struct task_struct *t,
                                                  struct pw_ct_state *s) {
  s->cur.run_queue_wait_ns =
      PW_READ(btf, t, sched_info.run_delay) - s->run_delay_base;
  s->cur.run_queue_wait_count =
      PW_READ(btf, t, sched_info.pcount) - s->pcount_base;
}

/* out = cur - reported. Returns whether any is nonzero. */
static __always_inline bool peek_delta(const struct pw_ct_state *s,
                                       struct pw_ct_counters *out) {
  const __u64 *cur = (const __u64 *)&s->cur;
  const __u64 *rep = (const __u64 *)&s->reported;
  __u64 *o = (__u64 *)out;
  __u64 any = 0;
  for (int i = 0; i < PW_CT_COUNTER_WORDS; i++) {
    __u64 d = *(const volatile __u64 *)&cur[i] - rep[i];
    o[i] = d;
    any |= d;
  }
  return any != 0;
}

/* reported += delta, once the delta has reached the reader. */
static __always_inline void commit_delta(struct pw_ct_state *s,
                                         const struct pw_ct_counters *delta) {
  __u64 *rep = (__u64 *)&s->reported;
  const __u64 *d = (const __u64 *)delta;
  for (int i = 0; i < PW_CT_COUNTER_WORDS; i++) rep[i] += d[i];
}

/* Sends the thread's last delta through this CPU's exit ring of `kind`
 * (exited = 1) and commits it. The thread is dead: no wakeup can race for
 * wake_pending. */
static __always_inline void send_exit_delta(bool btf, struct task_struct *t,
                                            __u32 tid, struct pw_ct_state *s,
                                            __u32 kind) {
  __u32 tgid = PW_READ(btf, t, tgid);
  add_wake_edge(s->wake_pending, tid, tgid);
  s->wake_pending = 0;
  take_run_queue_totals(btf, t, s);
  __u32 slot = 0;
  struct pw_ring_pos *ring = pw_exit_ring_reserve(
      &ct_exit_pos, PW_CT_EXIT_KINDS, kind, exit_slots_per_cpu, &slot);
  struct pw_ct_record *r = NULL;
  if (ring) {
    r = kind == PW_CT_EXIT_SWITCH ? bpf_map_lookup_elem(&ct_exit_switch, &slot)
                                  : bpf_map_lookup_elem(&ct_exit_free, &slot);
  }
  if (!r) {
    count_lost(PW_CT_LOST_EXIT_RECORD);
    return;
  }
  /* Nothing new: the slot is left for the next record. */
  if (!peek_delta(s, &r->delta)) return;
  commit_delta(s, &r->delta);
  r->tid = tid;
  r->pid = tgid;
  r->start_time_ns = PW_READ(btf, t, start_time);
  r->exited = 1;
  r->pad = 0;
  pw_exit_ring_publish(ring, exit_slots_per_cpu, &ct_exit_wakeups);
}

/* At a thread's final switch-out (prev_state TASK_DEAD), after its last
 * slice and with its state still hot: its exit record. This switch happens
 * for every thread; sched_process_free, on this 6.18 kernel, not for ~0.1%.
 * An iterator holding the state leaves the delta to sched_process_free. */
static __always_inline void send_final_delta(bool btf, struct task_struct *t,
                                             __u32 tid, struct pw_ct_state *s) {
  if (__sync_val_compare_and_swap(&s->busy, 0, 1) != 0) return;
  send_exit_delta(btf, t, tid, s, PW_CT_EXIT_SWITCH);
  s->final_sent = 1;
  __sync_fetch_and_and(&s->busy, 0);
  /* The tid hash has no owner to free the entry (task storage does). */
  if (!use_task_storage) bpf_map_delete_elem(&ct_tid, &tid);
}

/* ---- scheduler ---------------------------------------------------------- */

/* This CPU's rq->clock, the clock of sched_info's timestamps, which
 * __schedule() updated just before the tracepoint. Reached through a task on
 * this CPU (its group's cfs_rq points at the rq: CONFIG_FAIR_GROUP_SCHED),
 * because the per-CPU `runqueues` symbol is not in kallsyms on kernels built
 * without CONFIG_KALLSYMS_ALL. */
static __always_inline __u64 rq_clock_now(bool btf, struct task_struct *t) {
  return btf ? t->se.cfs_rq->rq->clock : BPF_CORE_READ(t, se.cfs_rq, rq, clock);
}

/* Ends a wait that `a` recorded at the thread's switch-in: the run-queue
 * histogram slot, and the blocked time before it by cause. */
static __always_inline void settle_arrival(struct pw_ct_state *s,
                                           const struct pw_ct_arrival *a) {
  if (a->hist_slot < PW_CT_HIST_SLOTS)
    s->cur.run_queue_wait_hist[a->hist_slot & (PW_CT_HIST_SLOTS - 1)] += 1;
  if (!s->sleep_ts) return;
  /* Off-CPU from the switch-out to the switch-in, minus every run-queue
   * wait since the wakeup: the one the switch-in ended, and any the kernel
   * closed on migration. */
  __u64 off = a->at > s->sleep_ts ? a->at - s->sleep_ts : 0;
  __u64 queued = a->wait + (a->run_delay - s->sleep_run_delay);
  __u64 slept = off > queued ? off - queued : 0;
  switch (s->sleep_cause) {
    case PW_CT_CAUSE_FUTEX:
      s->cur.futex_sleep_ns += slept;
      s->cur.futex_sleep_count += 1;
      break;
    case PW_CT_CAUSE_LOCK:
      s->cur.lock_sleep_ns += slept;
      s->cur.lock_sleep_count += 1;
      break;
    case PW_CT_CAUSE_IO:
      s->cur.io_sleep_ns += slept;
      s->cur.io_sleep_count += 1;
      break;
    default:
      s->cur.other_sleep_ns += slept;
      s->cur.other_sleep_count += 1;
  }
  s->sleep_ts = 0;
}

/* One task-storage lookup per switch: prev's. What next's switch-in ends is
 * kept in this CPU's `ct_arrival` slot and settled into its state at its
 * switch-out, which happens on this CPU before any other switch-in here. */
static __always_inline int on_switch(bool btf, bool preempt,
                                     struct task_struct *prev,
                                     struct task_struct *next,
                                     unsigned int prev_state) {
  __u32 zero = 0;
  struct pw_ct_arrival *a = bpf_map_lookup_elem(&ct_arrival, &zero);
  if (!a) return 0;
  __u64 now = 0;
  __u32 tid = PW_READ(btf, prev, pid);
  /* Blocking (sleep or exit), or preempted with an arrival to settle; a
   * preempted thread is queued by the kernel (sched_info.last_queued) and
   * its wait ends at its next switch-in. */
  bool blocking = !preempt && prev_state != 0;
  bool pending = a->tid != 0 && a->tid == tid;
  /* The slot names another thread: a switch-out on this CPU went unseen
   * (10-50 in a 4-second test of 4 spinners on one CPU here), so the wait
   * that thread's switch-in ended never reaches its histogram. Counted as
   * lost rather than silently missing. */
  if (a->tid != 0 && !pending && a->hist_slot < PW_CT_HIST_SLOTS)
    count_lost(PW_CT_LOST_STATE);
  if ((blocking || pending) && !skip_task(tid, PW_READ(btf, prev, tgid))) {
    bool sleeps = blocking && !(prev_state & PW_TASK_DEAD);
    struct pw_ct_state *s = state_of_at(
        btf, prev, tid, sleeps || (pending && a->hist_slot < PW_CT_HIST_SLOTS),
        pending ? a : NULL);
    if (s) {
      if (pending) settle_arrival(s, a);
      if (prev_state & PW_TASK_DEAD) send_final_delta(btf, prev, tid, s);
      if (sleeps) {
        __u32 cause = PW_CT_CAUSE_OTHER;
        if ((prev_state & PW_TASK_UNINTERRUPTIBLE) &&
            PW_READ_BITFIELD(btf, prev, in_iowait))
          cause = PW_CT_CAUSE_IO;
        else if (s->lock_ts)
          cause = PW_CT_CAUSE_LOCK;
        else if (s->futex_ts ||
                 (may_be_futex_wait(prev_state) && in_futex_wait(prev)))
          cause = PW_CT_CAUSE_FUTEX;
        now = rq_clock_now(btf, prev);
        s->sleep_cause = cause;
        s->sleep_ts = now;
        s->sleep_run_delay = PW_READ(btf, prev, sched_info.run_delay);
      }
    }
  }
  a->tid = 0;

  tid = PW_READ(btf, next, pid);
  if (skip_task(tid, PW_READ(btf, next, tgid))) return 0;
  if (!now) now = rq_clock_now(btf, next);
  /* Queued since (rq clock); sched_info_arrive() ends the wait just after
   * this tracepoint and adds it to run_delay. 0: not waiting. */
  __u64 queued = PW_READ(btf, next, sched_info.last_queued);
  a->tid = tid;
  a->at = now;
  a->run_delay = PW_READ(btf, next, sched_info.run_delay);
  a->wait = 0;
  a->hist_slot = PW_CT_NO_SLOT;
  if (queued) {
    __u64 wait = now > queued ? now - queued : 0;
    __u32 slot = hist_slot(wait) & (PW_CT_HIST_SLOTS - 1);
    a->wait = wait;
    a->hist_slot = slot;
    struct pw_ct_cpu_hist *h = bpf_map_lookup_elem(&ct_cpu_rq, &zero);
    if (h) {
      h->wait_count += 1;
      h->wait_total_ns += wait;
      h->hist[slot] += 1;
    }
  }
  return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(ct_switch_btf, bool preempt, struct task_struct *prev,
             struct task_struct *next, unsigned int prev_state) {
  return on_switch(true, preempt, prev, next, prev_state);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(ct_switch_raw, bool preempt, struct task_struct *prev,
             struct task_struct *next, unsigned int prev_state) {
  return on_switch(false, preempt, prev, next, prev_state);
}

static __always_inline int on_wakeup(bool btf, struct task_struct *p) {
  __u32 tid = PW_READ(btf, p, pid);
  __u32 tgid = PW_READ(btf, p, tgid);
  if (skip_task(tid, tgid)) return 0;
  /* A pair counts only when the wakee was blocked: then it has state, and
   * has not been switched in since (sleep_ts is cleared only at its next
   * switch-out). */
  struct pw_ct_state *s = state_of(btf, p, tid, false);
  if (!s || !s->sleep_ts ||
      PW_READ(btf, p, sched_info.last_arrival) > s->sleep_ts)
    return 0;
  __u64 id = bpf_get_current_pid_tgid();
  if ((__u32)id == 0 || (__u32)(id >> 32) == agent_tgid) return 0;
  __u64 me = wake_id((__u32)id, (__u32)(id >> 32));
  __u64 w = s->wake_pending;
  if ((w & ~PW_CT_WAKE_COUNT_MASK) == me &&
      (w & PW_CT_WAKE_COUNT_MASK) != PW_CT_WAKE_COUNT_MASK) {
    __sync_fetch_and_add(&s->wake_pending, 1); /* the same waker again */
    return 0;
  }
  add_wake_edge(__sync_lock_test_and_set(&s->wake_pending, me | 1), tid, tgid);
  return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(ct_wakeup_btf, struct task_struct *p) {
  return on_wakeup(true, p);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(ct_wakeup_raw, struct task_struct *p) {
  return on_wakeup(false, p);
}

/* ---- reading ------------------------------------------------------------ */

/* Writes `t`'s delta to the iterator's output and commits it once written. */
static __always_inline void report_live_delta(struct bpf_iter__task *ctx,
                                              struct task_struct *t, __u32 tid,
                                              struct pw_ct_state *s) {
  collect_wakes(s, tid, t->tgid);
  __u32 zero = 0;
  struct pw_ct_record *r = bpf_map_lookup_elem(&ct_scratch, &zero);
  if (!r) return;
  take_run_queue_totals(true, t, s);
  if (!peek_delta(s, &r->delta)) return;
  r->tid = tid;
  r->pid = t->tgid;
  r->start_time_ns = t->start_time;
  r->exited = 0;
  r->pad = 0;
  /* A record that does not fit ends this read(); the next one shows the
   * same task again, so the delta is committed only once written. */
  if (bpf_seq_write(ctx->meta->seq, r, sizeof(*r)) == 0)
    commit_delta(s, &r->delta);
}

SEC("iter/task")
int ct_snapshot(struct bpf_iter__task *ctx) {
  struct task_struct *t = ctx->task;
  if (!t) return 0;
  __u32 tid = t->pid;
  /* An exiting task's last delta goes out at its final switch-out. */
  if (skip_task(tid, t->tgid) || t->exit_state) return 0;
  struct pw_ct_state *s = state_of(true, t, tid, false);
  if (!s) return 0;
  /* The task may have passed the check above and be dying on another CPU
   * now: whoever holds `busy` reports the delta, the other leaves it. */
  if (__sync_val_compare_and_swap(&s->busy, 0, 1) != 0) return 0;
  if (!s->final_sent) report_live_delta(ctx, t, tid, s);
  __sync_fetch_and_and(&s->busy, 0);
  return 0;
}

/* The fallback: a thread whose final switch-out could not send its delta,
 * or ran before the agent attached. By now (one RCU grace period after the
 * task was unhashed) no iterator is reading its state. */
static __always_inline int on_task_free(bool btf, struct task_struct *t) {
  __u32 tid = PW_READ(btf, t, pid);
  struct pw_ct_state *s = state_of(btf, t, tid, false);
  if (!s) return 0;
  if (!s->final_sent) send_exit_delta(btf, t, tid, s, PW_CT_EXIT_FREE);
  /* Task storage is freed by the kernel right after this hook (free_task),
   * which may reuse the memory at once because the task is past an RCU grace
   * period; deleting it here instead defers the free through RCU tasks-trace
   * (~0.6 µs more per exit, measured). The tid hash has no such owner. */
  if (!use_task_storage) bpf_map_delete_elem(&ct_tid, &tid);
  return 0;
}

SEC("tp_btf/sched_process_free")
int BPF_PROG(ct_free_btf, struct task_struct *t) {
  return on_task_free(true, t);
}

SEC("raw_tp/sched_process_free")
int BPF_PROG(ct_free_raw, struct task_struct *t) {
  return on_task_free(false, t);
}
