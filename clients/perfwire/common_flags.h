#ifndef PERFWIRE_CLIENTS_PERFWIRE_COMMON_FLAGS_H_
#define PERFWIRE_CLIENTS_PERFWIRE_COMMON_FLAGS_H_

// Flags shared by the subcommands that read a frame stream. A command lists
// the ones it reads in its Command::flags.

#include <cstdint>
#include <string>

#include "absl/flags/declare.h"
#include "absl/time/time.h"

ABSL_DECLARE_FLAG(std::string, socket);
ABSL_DECLARE_FLAG(int64_t, count);
ABSL_DECLARE_FLAG(bool, threads);
ABSL_DECLARE_FLAG(std::string, o);
ABSL_DECLARE_FLAG(absl::Duration, duration);

#endif  // PERFWIRE_CLIENTS_PERFWIRE_COMMON_FLAGS_H_
