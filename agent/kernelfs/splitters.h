#ifndef PERFWIRE_AGENT_KERNELFS_SPLITTERS_H_
#define PERFWIRE_AGENT_KERNELFS_SPLITTERS_H_

// The line and field splitters every kernel-file parser uses. Both are
// views over text the caller keeps alive; neither allocates.

#include <cstddef>

#include "absl/strings/string_view.h"

namespace perfwire {

// Iterates over the '\n'-separated lines of `text`. A last line without '\n'
// is returned too; complete() then says it was cut short, so parsers can
// tell a truncated file from a whole one.
class LineSplitter {
 public:
  explicit LineSplitter(absl::string_view text) : rest_(text) {}
  // The next line, without its '\n'; false after the last one.
  bool Next(absl::string_view& line);
  // 1-based number of the line Next() returned last (0 before the first).
  size_t line_number() const { return line_number_; }
  // False when the line Next() returned last had no '\n' after it.
  bool complete() const { return complete_; }

 private:
  absl::string_view rest_;
  size_t line_number_ = 0;
  bool complete_ = true;
};

// Iterates over the fields of `text` separated by runs of spaces and tabs
// (leading and trailing blanks are skipped).
class FieldSplitter {
 public:
  explicit FieldSplitter(absl::string_view text) : rest_(text) {}
  // The next field; false when only blanks are left.
  bool Next(absl::string_view& field);
  // What follows the field Next() returned last.
  absl::string_view rest() const { return rest_; }

 private:
  absl::string_view rest_;
};

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_KERNELFS_SPLITTERS_H_
