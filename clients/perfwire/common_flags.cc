#include "clients/perfwire/common_flags.h"

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, socket, "/run/perfwire/perfwire.sock",
          "Unix socket perfwired serves frames on");
ABSL_FLAG(int64_t, count, 0,
          "stop after this many frames; 0 reads until interrupted");
ABSL_FLAG(bool, threads, false,
          "include per-thread series/rows (off: per-process and host only)");
