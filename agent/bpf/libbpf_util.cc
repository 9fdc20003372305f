#include "agent/bpf/libbpf_util.h"

#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "agent/log.h"

namespace perfwire {
namespace {

std::mutex mu;
bool capturing = false;                 // guarded by mu
std::vector<std::string>& Captured() {  // guarded by mu
  static std::vector<std::string> lines;
  return lines;
}

int PrintFn(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char line[1024];
  std::vsnprintf(line, sizeof(line), format, args);
  std::string text(absl::StripTrailingAsciiWhitespace(line));
  std::lock_guard<std::mutex> lock(mu);
  if (capturing) {
    Captured().push_back(std::move(text));
  } else if (level == LIBBPF_WARN) {
    LogWarning(absl::StrCat("libbpf: ", text));
  }
  return 0;
}

}  // namespace

absl::Status LibbpfError(int err, absl::string_view what) {
  if (err < 0) err = -err;
  if (err == 0) err = errno ? errno : EINVAL;
  return absl::ErrnoToStatus(err, what);
}

void InstallLibbpfLogger() { libbpf_set_print(PrintFn); }

LibbpfLogCapture::LibbpfLogCapture() {
  std::lock_guard<std::mutex> lock(mu);
  Captured().clear();
  capturing = true;
}

LibbpfLogCapture::~LibbpfLogCapture() {
  std::lock_guard<std::mutex> lock(mu);
  capturing = false;
  Captured().clear();
}

std::string LibbpfLogCapture::Tail(size_t max_lines) const {
  std::lock_guard<std::mutex> lock(mu);
  const auto& lines = Captured();
  const size_t n = std::min(max_lines, lines.size());
  return absl::StrJoin(lines.end() - n, lines.end(), " | ");
}

}  // namespace perfwire
