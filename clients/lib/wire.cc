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
  flatbuffers::Verifier verifier(data, size);
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
