#include "clients/lib/wire.h"

#include "absl/strings/str_format.h"
#include "schema_text.h"

namespace perfwire {

absl::Status VerifyFrame(const uint8_t* data, size_t size) {
  if (size < 8 ||
      !flatbuffers::BufferHasIdentifier(data, fb::FrameIdentifier())) {
    return absl::FailedPreconditionError(
        "not a perfwire frame (file identifier is not PWF1)");
  }
  // FlatBuffers checks alignment relative to `data`, but a size-prefixed
  // message aligns the buffer that starts at its 4-byte prefix, so 8-byte
  // fields sit at offsets 4 (mod 8) from `data`. Bounds are still checked.
  flatbuffers::Verifier::Options options;
  options.check_alignment = false;
  flatbuffers::Verifier verifier(data, size, options);
  if (!fb::VerifyFrameBuffer(verifier)) {
    return absl::DataLossError(absl::StrFormat(
        "corrupt frame: %u bytes fail FlatBuffers verification", size));
  }
  const uint32_t version = fb::GetFrame(data)->schema_version();
  if (version != kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "incompatible frame: schema version %u, this client reads version %u",
        version, kSchemaVersion));
  }
  return absl::OkStatus();
}

}  // namespace perfwire
