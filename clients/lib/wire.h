#ifndef PERFWIRE_CLIENTS_LIB_WIRE_H_
#define PERFWIRE_CLIENTS_LIB_WIRE_H_

// The stream format on perfwired's socket: a sequence of messages, each a
// 4-byte little-endian length followed by that many bytes of a FlatBuffers
// `perfwire.fb.Frame` (file identifier "PWF1"), i.e. exactly what
// FlatBufferBuilder::FinishSizePrefixed produces.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "perfwire_generated.h"

namespace perfwire {

inline constexpr size_t kWirePrefixBytes = 4;
// The largest frame a reader accepts: 64 MiB (20,000 threads make ~3 MB). A
// length prefix above it is reported as corruption, before any allocation.
inline constexpr uint32_t kMaxFrameBytes = 64u << 20;

// Readers grow a frame's buffer this much at a time as its bytes arrive, so a
// length prefix costs memory only for bytes that really came.
inline constexpr size_t kReadChunkBytes = 1u << 20;

// Appends up to `size` bytes to `buffer`, calling `read(dst, n)` (returns
// StatusOr<size_t>: bytes read, fewer than n only at the end of the input)
// with at most kReadChunkBytes at a time and growing `buffer` only by what
// each call may fill. Returns how many bytes arrived (less than `size` at
// the end of the input), or the first read error. `buffer` then holds
// exactly its old bytes plus those that arrived.
template <typename Read>
absl::StatusOr<size_t> ReadGrowing(std::vector<uint8_t>& buffer, size_t size,
                                   Read read) {
  const size_t base = buffer.size();
  size_t have = 0;
  while (have < size) {
    const size_t chunk = std::min(size - have, kReadChunkBytes);
    buffer.resize(base + have + chunk);
    absl::StatusOr<size_t> got = read(buffer.data() + base + have, chunk);
    if (!got.ok()) {
      buffer.resize(base + have);
      return got.status();
    }
    have += *got;
    if (*got < chunk) break;
  }
  buffer.resize(base + have);
  return have;
}

// Checks that `data` (without the length prefix) is a well-formed Frame of a
// compatible schema. Returns DataLoss for a corrupt buffer and
// FailedPrecondition for a frame from an incompatible schema.
absl::Status VerifyFrame(const uint8_t* data, size_t size);

}  // namespace perfwire

#endif  // PERFWIRE_CLIENTS_LIB_WIRE_H_
