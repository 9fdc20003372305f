#ifndef PERFWIRE_AGENT_HOST_TEXT_UTIL_H_
#define PERFWIRE_AGENT_HOST_TEXT_UTIL_H_

// Allocation-free helpers for parsing kernel text files (/proc, /sys), and a
// reader that reuses its buffer. Parsers take absl::string_view contents so
// they can be tested on captured files.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace perfwire {

// Reads the whole file at `path` into `out`, reusing its capacity. /proc and
// /sys files report size 0, so this reads until EOF. Errors name the path and
// errno (NotFound for ENOENT).
absl::Status ReadFileInto(const std::string& path, std::string& out);

// Iterates over lines ('\n'-separated; a last line without '\n' counts).
class LineSplitter {
 public:
  explicit LineSplitter(absl::string_view text) : rest_(text) {}
  bool Next(absl::string_view& line);

 private:
  absl::string_view rest_;
};

// Iterates over fields separated by runs of spaces and tabs.
class FieldSplitter {
 public:
  explicit FieldSplitter(absl::string_view text) : rest_(text) {}
  bool Next(absl::string_view& field);
  absl::string_view rest() const { return rest_; }

 private:
  absl::string_view rest_;
};

// Decimal unsigned integer, the whole of `s`; false on anything else or
// overflow.
bool ParseU64(absl::string_view s, uint64_t& value);
// Hexadecimal unsigned integer (no 0x prefix), the whole of `s`.
bool ParseHexU64(absl::string_view s, uint64_t& value);
// Decimal floating point, the whole of `s`.
bool ParseDouble(absl::string_view s, double& value);

// Rate of a monotonic kernel counter between two reads `dt_ns` apart. A
// counter that went backwards (reset, wrap, device re-created) gives 0.
inline double RatePerSec(uint64_t before, uint64_t after, uint64_t dt_ns) {
  if (after < before || dt_ns == 0) return 0.0;
  return static_cast<double>(after - before) * 1e9 / static_cast<double>(dt_ns);
}
inline uint64_t CounterDelta(uint64_t before, uint64_t after) {
  return after >= before ? after - before : 0;
}

// "NAME: meaning" for an errno value, e.g. "ENOENT: No such file or directory".
std::string ErrnoName(int err);

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_HOST_TEXT_UTIL_H_
