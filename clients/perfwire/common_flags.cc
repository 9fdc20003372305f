#include "clients/perfwire/common_flags.h"

#include "absl/flags/flag.h"
#include "absl/time/time.h"

ABSL_FLAG(std::string, socket, "/run/perfwire/perfwire.sock",
          "Unix socket perfwired serves frames on");
ABSL_FLAG(int64_t, count, 0,
          "stop after this many frames; 0 reads until interrupted");
ABSL_FLAG(bool, threads, false,
          "include per-thread series/rows (off: per-process and host only)");
ABSL_FLAG(std::string, o, "",
          "output file to write (parent directories are created); for "
          "export csv, - writes stdout");
ABSL_FLAG(absl::Duration, duration, absl::ZeroDuration(),
          "how long to run, e.g. 10s, 500ms, 2m; 0: the command's default "
          "(contention watches 10s; record and export run until stopped)");
