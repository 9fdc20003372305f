#ifndef PERFWIRE_AGENT_KERNELFS_NUMBERS_H_
#define PERFWIRE_AGENT_KERNELFS_NUMBERS_H_

// The number parsers every kernel-file parser uses (std::from_chars, so no
// locale, no allocation, no leading blanks or signs accepted).

#include <cstdint>

#include "absl/strings/string_view.h"

namespace perfwire {

// Decimal unsigned integer, the whole of `s`. False on an empty string, any
// other character (signs and blanks included) or overflow; `value` is then
// left unchanged.
bool ParseU64(absl::string_view s, uint64_t& value);
// Hexadecimal unsigned integer (digits of either case, no 0x prefix), the
// whole of `s`; otherwise as ParseU64.
bool ParseHexU64(absl::string_view s, uint64_t& value);
// Decimal floating point ("12.5", "1e3"), the whole of `s`; otherwise as
// ParseU64.
bool ParseDouble(absl::string_view s, double& value);

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_KERNELFS_NUMBERS_H_
