#ifndef PERFWIRE_CLIENTS_LIB_WIRE_H_
#define PERFWIRE_CLIENTS_LIB_WIRE_H_

// The stream format on perfwired's socket: a sequence of messages, each a
// 4-byte little-endian length followed by that many bytes of a FlatBuffers
// `perfwire.fb.Frame` (file identifier "PWF1"), i.e. exactly what
// FlatBufferBuilder::FinishSizePrefixed produces.

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "perfwire_generated.h"

namespace perfwire {

inline constexpr size_t kWirePrefixBytes = 4;
// Frames larger than this are treated as corruption (20,000 threads make ~3
// MB).
inline constexpr uint32_t kMaxFrameBytes = 64u << 20;

// Checks that `data` (without the length prefix) is a well-formed Frame of a
// compatible schema. Returns DataLoss for a corrupt buffer and
// FailedPrecondition for a frame from an incompatible schema.
absl::Status VerifyFrame(const uint8_t* data, size_t size);

}  // namespace perfwire

#endif  // PERFWIRE_CLIENTS_LIB_WIRE_H_
