// SPDX-License-Identifier: GPL-2.0
/* Futex syscalls and kernel lock contention of the contention object (see
 * contention.bpf.h). */
#include "contention.bpf.h"

/* The calling thread's state (syscall and lock hooks). The thread is
 * running, so its switch-in may still be unsettled in this CPU's slot; a
 * state made now must leave that wait to the settling. */
static __always_inline struct pw_ct_state *state_of_current(__u32 tid,
                                                            bool create) {
  const struct pw_ct_arrival *unsettled = NULL;
  if (create) {
    __u32 zero = 0;
    struct pw_ct_arrival *a = bpf_map_lookup_elem(&ct_arrival, &zero);
    if (a && a->tid == tid) unsettled = a;
  }
  if (use_task_storage)
    return state_of_at(true, bpf_get_current_task_btf(), tid, create,
                       unsettled);
  return state_of_at(false, (struct task_struct *)bpf_get_current_task(), tid,
                     create, unsettled);
}

/* ---- futex syscalls ----------------------------------------------------- */

static __always_inline int on_futex_enter(__u64 op) {
  if (!pw_futex_op_waits(op)) return 0;
  __u64 id = bpf_get_current_pid_tgid();
  if (skip_task((__u32)id, id >> 32)) return 0;
  struct pw_ct_state *s = state_of_current((__u32)id, true);
  if (s) s->futex_ts = bpf_ktime_get_ns();
  return 0;
}

static __always_inline int on_futex_exit(void) {
  __u64 id = bpf_get_current_pid_tgid();
  if (skip_task((__u32)id, id >> 32)) return 0;
  struct pw_ct_state *s = state_of_current((__u32)id, false);
  if (!s || !s->futex_ts) return 0;
  __u64 now = bpf_ktime_get_ns();
  s->cur.futex_wait_count += 1;
  s->cur.futex_wait_ns += now - s->futex_ts;
  s->futex_ts = 0;
  return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(ct_sys_enter_btf, struct pt_regs *regs, long id) {
  if (id != PW_NR_FUTEX) return 0;
  return on_futex_enter(PW_REGS_ARG2(regs));
}

SEC("raw_tp/sys_enter")
int BPF_PROG(ct_sys_enter_raw, struct pt_regs *regs, long id) {
  if (id != PW_NR_FUTEX) return 0;
  return on_futex_enter(BPF_CORE_READ(regs, PW_REGS_ARG2_FIELD));
}

SEC("tp_btf/sys_exit")
int BPF_PROG(ct_sys_exit_btf, struct pt_regs *regs, long ret) {
  if (PW_REGS_NR(regs) != PW_NR_FUTEX) return 0;
  return on_futex_exit();
}

SEC("raw_tp/sys_exit")
int BPF_PROG(ct_sys_exit_raw, struct pt_regs *regs, long ret) {
  if (BPF_CORE_READ(regs, PW_REGS_NR_FIELD) != PW_NR_FUTEX) return 0;
  return on_futex_exit();
}

/* ---- kernel locks ------------------------------------------------------- */

static __always_inline int on_lock_begin(void) {
  __u64 id = bpf_get_current_pid_tgid();
  if (skip_task((__u32)id, id >> 32)) return 0;
  struct pw_ct_state *s = state_of_current((__u32)id, true);
  if (s && !s->lock_ts) s->lock_ts = bpf_ktime_get_ns();
  return 0;
}

static __always_inline int on_lock_end(void) {
  __u64 id = bpf_get_current_pid_tgid();
  if (skip_task((__u32)id, id >> 32)) return 0;
  struct pw_ct_state *s = state_of_current((__u32)id, false);
  if (!s || !s->lock_ts) return 0;
  s->cur.lock_contention_count += 1;
  s->cur.lock_contention_ns += bpf_ktime_get_ns() - s->lock_ts;
  s->lock_ts = 0;
  return 0;
}

SEC("tp_btf/contention_begin")
int BPF_PROG(ct_lock_begin_btf, void *lock, unsigned int flags) {
  return on_lock_begin();
}

SEC("raw_tp/contention_begin")
int BPF_PROG(ct_lock_begin_raw, void *lock, unsigned int flags) {
  return on_lock_begin();
}

SEC("tp_btf/contention_end")
int BPF_PROG(ct_lock_end_btf, void *lock, int ret) { return on_lock_end(); }

SEC("raw_tp/contention_end")
int BPF_PROG(ct_lock_end_raw, void *lock, int ret) { return on_lock_end(); }
