#include "clients/lib/recording.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "clients/lib/wire.h"

namespace perfwire {
namespace {

void PutLe32(uint32_t v, std::vector<uint8_t>& out) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

uint32_t GetLe32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

}  // namespace

uint32_t RecordingCrc32(absl::Span<const uint8_t> data) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths; frames are at most kMaxFrameBytes, but be safe.
  while (!data.empty()) {
    const size_t chunk = std::min<size_t>(data.size(), 1u << 30);
    crc = crc32(crc, data.data(), static_cast<uInt>(chunk));
    data.remove_prefix(chunk);
  }
  return static_cast<uint32_t>(crc);
}

absl::StatusOr<RecordingWriter> RecordingWriter::Create(
    const std::string& path, uint32_t schema_version,
    const std::string& hostname) {
  const std::filesystem::path parent =
      std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      return absl::ErrnoToStatus(
          ec.value(), absl::StrCat("create directory ", parent.string()));
    }
  }
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  RecordingWriter writer(UniqueFd(fd), path);
  std::vector<uint8_t> header(kRecordingMagic,
                              kRecordingMagic + kRecordingMagicBytes);
  PutLe32(schema_version, header);
  const size_t host_size = std::min<size_t>(hostname.size(), 0xffff);
  header.push_back(static_cast<uint8_t>(host_size));
  header.push_back(static_cast<uint8_t>(host_size >> 8));
  header.insert(header.end(), hostname.begin(), hostname.begin() + host_size);
  if (absl::Status s = writer.WriteAll(header); !s.ok()) return s;
  return writer;
}

absl::Status RecordingWriter::WriteAll(absl::Span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_.get(), bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, absl::StrCat("write ", path_));
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status RecordingWriter::Append(absl::Span<const uint8_t> message) {
  if (message.size() < kWirePrefixBytes) {
    return absl::InvalidArgumentError("message shorter than its prefix");
  }
  buffer_.assign(message.begin(), message.end());
  PutLe32(RecordingCrc32(message), buffer_);
  return WriteAll(buffer_);
}

absl::StatusOr<RecordingReader> RecordingReader::Open(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rbe");
  if (file == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  }
  RecordingReader reader(file, path);
  uint8_t fixed[kRecordingMagicBytes + 4 + 2];
  const size_t got = std::fread(fixed, 1, sizeof(fixed), file);
  if (got < kRecordingMagicBytes ||
      std::memcmp(fixed, kRecordingMagic, kRecordingMagicBytes) != 0) {
    if (std::ferror(file)) {
      return absl::ErrnoToStatus(errno, absl::StrCat("read ", path));
    }
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is not a perfwire recording (no PWREC1 header)"));
  }
  if (got < sizeof(fixed)) {
    return absl::DataLossError(absl::StrCat(path, ": truncated header"));
  }
  reader.schema_version_ = GetLe32(fixed + kRecordingMagicBytes);
  const size_t host_size =
      fixed[kRecordingMagicBytes + 4] | fixed[kRecordingMagicBytes + 5] << 8;
  reader.hostname_.resize(host_size);
  if (std::fread(reader.hostname_.data(), 1, host_size, file) != host_size) {
    return absl::DataLossError(absl::StrCat(path, ": truncated header"));
  }
  reader.offset_ = sizeof(fixed) + host_size;
  return reader;
}

RecordingReader::RecordingReader(RecordingReader&& other) noexcept
    : file_(std::exchange(other.file_, nullptr)),
      path_(std::move(other.path_)),
      schema_version_(other.schema_version_),
      hostname_(std::move(other.hostname_)),
      message_(std::move(other.message_)),
      offset_(other.offset_),
      frames_(other.frames_),
      done_(other.done_) {}

RecordingReader& RecordingReader::operator=(RecordingReader&& other) noexcept {
  if (this != &other) {
    if (file_ != nullptr) std::fclose(file_);
    file_ = std::exchange(other.file_, nullptr);
    path_ = std::move(other.path_);
    schema_version_ = other.schema_version_;
    hostname_ = std::move(other.hostname_);
    message_ = std::move(other.message_);
    offset_ = other.offset_;
    frames_ = other.frames_;
    done_ = other.done_;
  }
  return *this;
}

RecordingReader::~RecordingReader() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::StatusOr<const fb::Frame*> RecordingReader::Next() {
  message_.clear();
  if (done_ || file_ == nullptr) return absl::OutOfRangeError("end of file");
  const uint64_t start = offset_;
  auto torn = [&](absl::string_view why) {
    done_ = true;
    message_.clear();
    return absl::DataLossError(absl::StrCat(
        path_, ": torn or corrupt record at byte ", start, " after ", frames_,
        " complete frames (", why, "); the rest of the file is skipped"));
  };
  uint8_t prefix[kWirePrefixBytes];
  const size_t got = std::fread(prefix, 1, sizeof(prefix), file_);
  if (std::ferror(file_)) {
    return absl::ErrnoToStatus(errno, absl::StrCat("read ", path_));
  }
  if (got == 0) {
    done_ = true;
    return absl::OutOfRangeError("end of file");
  }
  if (got < sizeof(prefix)) return torn("short length prefix");
  const uint32_t size = GetLe32(prefix);
  if (size == 0 || size > kMaxFrameBytes) {
    return torn(absl::StrCat("bad frame length ", size));
  }
  message_.assign(prefix, prefix + sizeof(prefix));
  absl::StatusOr<size_t> read = ReadGrowing(
      message_, size + 4,
      [this](uint8_t* out, size_t n) -> absl::StatusOr<size_t> {
        const size_t got = std::fread(out, 1, n, file_);
        if (std::ferror(file_)) {
          return absl::ErrnoToStatus(errno, absl::StrCat("read ", path_));
        }
        return got;
      });
  if (!read.ok()) return read.status();
  const size_t body = *read;
  if (body < size + 4) {
    return torn(absl::StrCat("record needs ", size + 8, " bytes, file has ",
                             kWirePrefixBytes + body));
  }
  const uint32_t stored_crc =
      GetLe32(message_.data() + kWirePrefixBytes + size);
  message_.resize(kWirePrefixBytes + size);
  if (RecordingCrc32(message_) != stored_crc) return torn("CRC mismatch");
  const uint8_t* frame = message_.data() + kWirePrefixBytes;
  if (absl::Status s = VerifyFrame(frame, size); !s.ok()) {
    return torn(s.message());
  }
  offset_ += kWirePrefixBytes + size + 4;
  ++frames_;
  return fb::GetFrame(frame);
}

}  // namespace perfwire
