// SPDX-License-Identifier: GPL-2.0
/* Every map and setting of the contention object (see contention.bpf.h). */
#define PW_CT_DEFINE_MAPS
#include "contention.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the agent between open and load. */
const volatile __u32 agent_tgid = 0;
const volatile bool use_task_storage = true;  /* false on the raw_tp path */
const volatile __u32 exit_slots_per_cpu = 64; /* power of two */
