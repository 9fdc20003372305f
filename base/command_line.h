#ifndef PERFWIRE_BASE_COMMAND_LINE_H_
#define PERFWIRE_BASE_COMMAND_LINE_H_

// The one way perfwired and perfwire check their command lines before
// Abseil parses them, so that every usage error is one clear line and exit
// status 2 (Abseil's own parser exits 1 on a bad value and lists no
// neighbours for an unknown flag), and --help exits 0.

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace perfwire {

inline constexpr int kExitUsage = 2;

struct FlagCheck {
  bool help = false;     // --help, -h, or one of Abseil's help flags
  bool version = false;  // --version
  std::string error;     // non-empty: the usage error, one line
};

// Checks args[first..] (up to a bare "--") against `known`, the names of
// the flags the program reads. A known flag's value is checked (and set)
// with CommandLineFlag::ParseFrom; `--name VALUE` is rewritten in place to
// `--name=VALUE` (the new string lives in `storage`, which must be reserved
// for args.size() strings), so a value that starts with '-' (`-o -`) is
// taken as it is; `--noNAME` turns a known boolean off. An unknown flag's
// error is "unknown flag --NAME" followed by `hint(NAME)`.
FlagCheck CheckFlags(std::vector<char*>& args, size_t first,
                     absl::Span<const absl::string_view> known,
                     absl::FunctionRef<std::string(absl::string_view)> hint,
                     std::vector<std::string>& storage);

// Levenshtein distance between `a` and `b`.
size_t EditDistance(absl::string_view a, absl::string_view b);

// The candidate nearest to `name` when it is close (at most a third of the
// name's letters differ, 2 at least); empty when none is.
absl::string_view NearestName(absl::string_view name,
                              absl::Span<const absl::string_view> candidates);

// Prints "--name (type)", its help and its default for each of `names`
// (flags that are not registered are skipped).
void PrintFlags(std::FILE* out, absl::Span<const absl::string_view> names);

// A file mode as a flag value: parsed and printed in octal, the way chmod
// takes it ("0660", "660" and "0o660" all mean rw-rw----), at most 07777.
// Abseil's integer flags would read "0660" as decimal 660.
struct FileMode {
  uint32_t bits = 0;
};
bool AbslParseFlag(absl::string_view text, FileMode* mode, std::string* error);
std::string AbslUnparseFlag(FileMode mode);

}  // namespace perfwire

#endif  // PERFWIRE_BASE_COMMAND_LINE_H_
