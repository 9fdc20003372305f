#include "agent/kernelfs/file_errors.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace perfwire {

std::string ErrnoSymbol(int err) {
  const char* name = strerrorname_np(err);
  return name ? std::string(name) : absl::StrCat("errno ", err);
}

std::string ErrnoName(int err) {
  return absl::StrCat(ErrnoSymbol(err), ": ", std::strerror(err));
}

absl::Status FileError(int err, absl::string_view op, absl::string_view path) {
  std::string message = absl::StrCat(op, " ", path, ": ", ErrnoName(err));
  switch (err) {
    case ENOENT:
    case ESRCH:
      return absl::NotFoundError(std::move(message));
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(std::move(message));
    default:
      return absl::Status(absl::ErrnoToStatusCode(err), std::move(message));
  }
}

absl::Status MalformedFile(absl::string_view file, size_t line,
                           absl::string_view what) {
  if (line == 0) return absl::DataLossError(absl::StrCat(file, ": ", what));
  return absl::DataLossError(absl::StrCat(file, ": line ", line, ": ", what));
}

absl::Status CheckNotTruncated(absl::string_view file, absl::string_view text) {
  if (text.empty() || text.back() == '\n') return absl::OkStatus();
  return MalformedFile(file, 0, "truncated (no end of line)");
}

std::string Excerpt(absl::string_view text) {
  std::string out = "'";
  for (char c : text.substr(0, 32)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return out + (text.size() > 32 ? "...'" : "'");
}

}  // namespace perfwire
