/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers every perfwire BPF program shares. Include after vmlinux.h and
 * the libbpf headers. */
#ifndef PERFWIRE_BPF_PW_HELPERS_BPF_H_
#define PERFWIRE_BPF_PW_HELPERS_BPF_H_

#include "pw_constants.h"

/* bpf_map_update_elem's error when BPF_NOEXIST finds the key: another CPU
 * inserted it first (errno-base.h's EEXIST; vmlinux.h has no errno names). */
#define PW_EEXIST 17

/* tp_btf hands programs trusted pointers: plain loads (no helper call).
 * raw_tp hands them raw addresses: probe reads. `btf` is a constant per
 * program, so the compiler keeps one branch. */
#define PW_READ(btf, p, field) ((btf) ? (p)->field : BPF_CORE_READ(p, field))
#define PW_READ_BITFIELD(btf, p, field)     \
  ((btf) ? BPF_CORE_READ_BITFIELD(p, field) \
         : BPF_CORE_READ_BITFIELD_PROBED(p, field))

/* The value at `key` in the hash `map`, inserting a copy of `init` first
 * when there is none. Losing the insert race to another CPU is not an error
 * (that CPU's entry is returned). *created is true when this call inserted
 * the entry. NULL when the map refused it (full: its max_entries) or the
 * entry was deleted at once; callers count that as a loss. */
static __always_inline void *pw_lookup_or_init(void *map, const void *key,
                                               const void *init,
                                               bool *created) {
  *created = false;
  void *value = bpf_map_lookup_elem(map, key);
  if (value) return value;
  int err = (int)bpf_map_update_elem(map, key, init, BPF_NOEXIST);
  if (err != 0 && err != -PW_EEXIST) return NULL;
  *created = err == 0;
  return bpf_map_lookup_elem(map, key);
}

/* floor(log2(v)) for v > 0 (0 for v == 0), clamped to `slots` - 1; every
 * v >= 2^32 lands in the last slot. Branch-free shifts, as the verifier
 * likes them. */
static __always_inline __u32 pw_log2_slot(__u64 v, __u32 slots) {
  if (v >> 32) return slots - 1;
  __u32 x = (__u32)v;
  __u32 r = (x > 0xFFFF) << 4;
  x >>= r;
  __u32 shift = (x > 0xFF) << 3;
  x >>= shift;
  r |= shift;
  shift = (x > 0xF) << 2;
  x >>= shift;
  r |= shift;
  shift = (x > 0x3) << 1;
  x >>= shift;
  r |= shift;
  r |= (x >> 1);
  return r < slots ? r : slots - 1;
}

/* FUTEX_* commands that put the caller to sleep waiting (futex.h):
 * FUTEX_WAIT, FUTEX_LOCK_PI, FUTEX_WAIT_BITSET, FUTEX_WAIT_REQUEUE_PI,
 * FUTEX_LOCK_PI2. `op` is the syscall's second argument. */
#define PW_FUTEX_CMD_MASK                             \
  127 /* ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME) \
       */
static __always_inline bool pw_futex_op_waits(__u64 op) {
  __u32 cmd = op & PW_FUTEX_CMD_MASK;
  return cmd == 0 || cmd == 6 || cmd == 9 || cmd == 11 || cmd == 13;
}

/* Task state bits as sched_switch's prev_state reports them (sched.h).
 * Stable since 5.14 except TASK_FREEZABLE, which 6.1 turned into a state
 * bit (commit f5d39b020809, "freezer,sched: Rewrite core freezer logic"). */
#define PW_TASK_UNINTERRUPTIBLE 0x00000002
#define PW_TASK_DEAD 0x00000080
#define PW_TASK_FREEZABLE 0x00002000

#endif /* PERFWIRE_BPF_PW_HELPERS_BPF_H_ */
