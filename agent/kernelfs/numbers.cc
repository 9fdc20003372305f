#include "agent/kernelfs/numbers.h"

#include <charconv>
#include <system_error>

namespace perfwire {
namespace {

template <typename T, typename... Args>
bool ParseWhole(absl::string_view s, T& value, Args... args) {
  if (s.empty()) return false;
  T v{};
  const char* end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, v, args...);
  if (ec != std::errc() || ptr != end) return false;
  value = v;
  return true;
}

}  // namespace

bool ParseU64(absl::string_view s, uint64_t& value) {
  return ParseWhole(s, value, 10);
}

bool ParseHexU64(absl::string_view s, uint64_t& value) {
  // from_chars takes no prefix, but would take a '-' only for signed types.
  return ParseWhole(s, value, 16);
}

bool ParseDouble(absl::string_view s, double& value) {
  // from_chars for floating point accepts a leading '-'; that is fine for
  // PSI averages and frequencies, which never have one, and for callers
  // that do their own range checks.
  return ParseWhole(s, value, std::chars_format::general);
}

}  // namespace perfwire
