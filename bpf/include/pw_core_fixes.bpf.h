/* SPDX-License-Identifier: GPL-2.0 */
/* Kernel changes our programs read across, one helper per change, each
 * naming the commit and release, so a reader knows which kernels a line
 * serves. CO-RE keeps the branch a kernel lacks out of the verified
 * program: bpf_core_field_exists() is a load-time constant. */
#ifndef PERFWIRE_BPF_PW_CORE_FIXES_BPF_H_
#define PERFWIRE_BPF_PW_CORE_FIXES_BPF_H_

/* A request's disk. Until 5.16 it was request->rq_disk; 5.15 added
 * request_queue->disk (commit d152c682f03c, "block: add an explicit ->disk
 * backpointer to the request_queue"), and 5.17 removed rq_disk (commit
 * f3fa33acca9f, "block: remove the ->rq_disk field in struct request").
 * The flavour below names the old field, which this vmlinux.h lacks. */
struct request___pw_rq_disk {
  struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

static __always_inline struct gendisk *pw_request_disk(struct request *rq) {
  struct request___pw_rq_disk *old = (void *)rq;
  if (bpf_core_field_exists(old->rq_disk)) return BPF_CORE_READ(old, rq_disk);
  return BPF_CORE_READ(rq, q, disk);
}

#endif /* PERFWIRE_BPF_PW_CORE_FIXES_BPF_H_ */
