#ifndef PERFWIRE_CLIENTS_PERFWIRE_COMMAND_H_
#define PERFWIRE_CLIENTS_PERFWIRE_COMMAND_H_

#include <vector>

#include "absl/strings/string_view.h"

namespace perfwire {

// One `perfwire <name>` subcommand. Each lives in its own file and is listed
// once in main.cc's table.
struct Command {
  absl::string_view name;
  absl::string_view summary;  // one line, for `perfwire help`
  // What `perfwire <name> --help` prints before the flags: usage line and a
  // description.
  absl::string_view usage;
  // The Abseil flags the command reads. Only these are accepted after the
  // command word, and `--help` lists exactly these.
  std::vector<absl::string_view> flags;
  // Runs the command after flags were parsed. `args` are the remaining
  // positional arguments. Returns the process exit code.
  int (*run)(const std::vector<char*>& args);
};

// Defined in dump.cc.
extern const Command kDumpCommand;
// Defined in contention.cc.
extern const Command kContentionCommand;
// Defined in record.cc.
extern const Command kRecordCommand;
// Defined in replay.cc.
extern const Command kReplayCommand;
// Defined in export.cc.
extern const Command kExportCommand;
// Defined in top.cc.
extern const Command kTopCommand;

}  // namespace perfwire

#endif  // PERFWIRE_CLIENTS_PERFWIRE_COMMAND_H_
