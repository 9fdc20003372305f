#include "agent/host/text_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace perfwire {

absl::Status ReadFileInto(const std::string& path, std::string& out) {
  out.clear();
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  if (out.capacity() < 4096) out.reserve(4096);
  size_t used = 0;
  for (;;) {
    if (out.size() < used + 4096)
      out.resize(std::max(out.capacity(), used + 4096));
    const ssize_t n = read(fd, out.data() + used, out.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      close(fd);
      out.clear();
      return absl::ErrnoToStatus(err, absl::StrCat("read ", path));
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  close(fd);
  out.resize(used);
  return absl::OkStatus();
}

bool LineSplitter::Next(absl::string_view& line) {
  if (rest_.empty()) return false;
  const size_t nl = rest_.find('\n');
  if (nl == absl::string_view::npos) {
    line = rest_;
    rest_ = {};
  } else {
    line = rest_.substr(0, nl);
    rest_.remove_prefix(nl + 1);
  }
  return true;
}

bool FieldSplitter::Next(absl::string_view& field) {
  size_t i = 0;
  while (i < rest_.size() && (rest_[i] == ' ' || rest_[i] == '\t')) ++i;
  if (i == rest_.size()) {
    rest_ = {};
    return false;
  }
  size_t j = i;
  while (j < rest_.size() && rest_[j] != ' ' && rest_[j] != '\t') ++j;
  field = rest_.substr(i, j - i);
  rest_.remove_prefix(j);
  return true;
}

bool ParseU64(absl::string_view s, uint64_t& value) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  value = v;
  return true;
}

bool ParseHexU64(absl::string_view s, uint64_t& value) {
  if (s.empty() || s.size() > 16) return false;
  uint64_t v = 0;
  for (char c : s) {
    uint64_t d;
    if (c >= '0' && c <= '9') {
      d = static_cast<uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<uint64_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      d = static_cast<uint64_t>(c - 'A' + 10);
    } else {
      return false;
    }
    v = (v << 4) | d;
  }
  value = v;
  return true;
}

bool ParseDouble(absl::string_view s, double& value) {
  return !s.empty() && absl::SimpleAtod(s, &value);
}

std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  return absl::StrCat(name ? name : absl::StrCat("errno ", err), ": ",
                      std::strerror(err));
}

}  // namespace perfwire
