#ifndef PERFWIRE_CLIENTS_LIB_FRAME_JSON_H_
#define PERFWIRE_CLIENTS_LIB_FRAME_JSON_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace perfwire {

// Renders frames as JSON straight from the embedded schema (no per-field
// code), through nlohmann::json, so the output is valid JSON whatever the
// frame holds:
//   * field names are the schema's, in schema order; every scalar is present
//     (defaults included) except optional scalars ("= null") the frame left
//     out; absent tables, vectors and strings are left out;
//   * one object on one line, no spaces;
//   * integers exactly; doubles in shortest round-trip form (1.5e-13,
//     0.30000000000000004); a float field as its shortest float decimal;
//     NaN and infinities as null;
//   * enum values by name (a value the schema does not name: its number);
//   * strings that are not valid UTF-8 (a thread may name itself anything)
//     have each invalid byte replaced by U+FFFD.
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
  // trailing newline, or Internal if the schema has no root table.
  absl::StatusOr<std::string> ToJson(const uint8_t* frame_without_prefix) const;

 private:
  struct Schema;
  explicit FrameJson(std::unique_ptr<Schema> schema);

  std::unique_ptr<Schema> schema_;
};

}  // namespace perfwire

#endif  // PERFWIRE_CLIENTS_LIB_FRAME_JSON_H_
