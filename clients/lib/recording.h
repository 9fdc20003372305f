#ifndef PERFWIRE_CLIENTS_LIB_RECORDING_H_
#define PERFWIRE_CLIENTS_LIB_RECORDING_H_

// The `perfwire record` file format:
//
//   header:  "PWREC1\n"                      7 bytes, magic
//            schema_version                  uint32 little-endian
//            hostname length                 uint16 little-endian
//            hostname                        that many bytes
//   records: length                          uint32 little-endian (N)
//            frame                           N bytes: a FlatBuffers Frame
//            crc32                           uint32 little-endian: zlib
//                                            crc32 of the 4 length bytes
//                                            and the N frame bytes
//
// The length and frame of a record are exactly one wire message
// (clients/lib/wire.h), so a record can be re-served as-is. Each record is
// written with one write(2), so a crash or a full disk can only leave a torn
// last record: readers detect it (short record, bad length, CRC mismatch or
// a frame that fails verification), report it, and keep every record before
// it.

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "base/unique_fd.h"
#include "perfwire_generated.h"

namespace perfwire {

inline constexpr char kRecordingMagic[] = "PWREC1\n";
inline constexpr size_t kRecordingMagicBytes = sizeof(kRecordingMagic) - 1;

// zlib's crc32 of `data`.
uint32_t RecordingCrc32(absl::Span<const uint8_t> data);

// Appends frames to a new recording. Move-only. Thread-compatible.
class RecordingWriter {
 public:
  // Creates `path` (truncating an existing file; parent directories are
  // created) and writes the header.
  static absl::StatusOr<RecordingWriter> Create(const std::string& path,
                                                uint32_t schema_version,
                                                const std::string& hostname);

  RecordingWriter(RecordingWriter&&) = default;
  RecordingWriter& operator=(RecordingWriter&&) = default;

  // Appends one wire message (4-byte length prefix + frame, as
  // FrameStream::last_message returns it) with its CRC, in one write(2).
  absl::Status Append(absl::Span<const uint8_t> message);

  const std::string& path() const { return path_; }

 private:
  RecordingWriter(UniqueFd fd, std::string path)
      : fd_(std::move(fd)), path_(std::move(path)) {}
  absl::Status WriteAll(absl::Span<const uint8_t> bytes);

  UniqueFd fd_;
  std::string path_;
  std::vector<uint8_t> buffer_;
};

// Reads a recording front to back. Move-only. Thread-compatible.
class RecordingReader {
 public:
  // Opens `path` and reads the header. NotFound/PermissionDenied etc. for
  // open errors, FailedPrecondition when it is not a perfwire recording,
  // DataLoss for a truncated header.
  static absl::StatusOr<RecordingReader> Open(const std::string& path);

  RecordingReader(RecordingReader&&) noexcept;
  RecordingReader& operator=(RecordingReader&&) noexcept;
  ~RecordingReader();

  uint32_t schema_version() const { return schema_version_; }
  const std::string& hostname() const { return hostname_; }

  // Returns the next verified frame, valid until the next call; OutOfRange
  // at the end of the file, after the last complete record; DataLoss when
  // the rest of the file is a torn or corrupt record (the message says
  // where and why; later calls return OutOfRange). Other codes: read errors.
  absl::StatusOr<const fb::Frame*> Next();

  // The last frame's wire message: 4-byte length prefix + frame.
  absl::Span<const uint8_t> last_message() const { return message_; }

  // Records read successfully so far.
  uint64_t frames() const { return frames_; }

 private:
  RecordingReader(std::FILE* file, std::string path)
      : file_(file), path_(std::move(path)) {}

  std::FILE* file_ = nullptr;
  std::string path_;
  uint32_t schema_version_ = 0;
  std::string hostname_;
  std::vector<uint8_t> message_;
  uint64_t offset_ = 0;  // bytes consumed
  uint64_t frames_ = 0;
  bool done_ = false;
};

}  // namespace perfwire

#endif  // PERFWIRE_CLIENTS_LIB_RECORDING_H_
