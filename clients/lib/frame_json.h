#ifndef PERFWIRE_CLIENTS_LIB_FRAME_JSON_H_
#define PERFWIRE_CLIENTS_LIB_FRAME_JSON_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace flatbuffers {
class Parser;
}  // namespace flatbuffers

namespace perfwire {

// Renders frames as JSON straight from the embedded schema (no per-field
// code): field names are the schema's, every scalar is present (defaults
// included), one object on one line. Strings that are not valid UTF-8 (a
// thread may name itself anything) have each bad byte rendered as \u00XX.
// Move-only. Thread-compatible.
class FrameJson {
 public:
  // Parses the embedded schema. Fails (Internal) only if the schema text
  // does not parse, which is a build bug.
  static absl::StatusOr<FrameJson> Create();

  FrameJson(FrameJson&&) noexcept;
  FrameJson& operator=(FrameJson&&) noexcept;
  ~FrameJson();

  // `frame_without_prefix` must point at a Frame that VerifyFrame accepted
  // (e.g. from FrameStream::Next). Returns one line of JSON without a
  // trailing newline, or Internal if FlatBuffers cannot render it.
  absl::StatusOr<std::string> ToJson(const uint8_t* frame_without_prefix) const;

 private:
  explicit FrameJson(std::unique_ptr<flatbuffers::Parser> parser);

  std::unique_ptr<flatbuffers::Parser> parser_;
};

}  // namespace perfwire

#endif  // PERFWIRE_CLIENTS_LIB_FRAME_JSON_H_
