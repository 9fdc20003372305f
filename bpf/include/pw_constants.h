/* SPDX-License-Identifier: GPL-2.0 */
/* Encodings that BPF programs and the agent share. Plain C, fixed-width. */
#ifndef PERFWIRE_BPF_PW_CONSTANTS_H_
#define PERFWIRE_BPF_PW_CONSTANTS_H_

/* A block device number as the kernel's dev_t (MKDEV): major in the high 12
 * bits, minor in the low 20. */
#define PW_MINOR_BITS 20
#define PW_MKDEV(major, minor) (((major) << PW_MINOR_BITS) | (minor))
#define PW_DEV_MAJOR(dev) ((dev) >> PW_MINOR_BITS)
#define PW_DEV_MINOR(dev) ((dev) & ((1U << PW_MINOR_BITS) - 1))

#endif /* PERFWIRE_BPF_PW_CONSTANTS_H_ */
