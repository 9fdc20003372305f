#include "agent/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace perfwire {
namespace {
std::atomic<bool> verbose{true};
std::mutex mu;
}  // namespace

void SetLogVerbose(bool v) { verbose = v; }

void Log(LogLevel level, absl::string_view message) {
  if (level == LogLevel::kInfo && !verbose) return;
  const char* tag = level == LogLevel::kInfo      ? "info"
                    : level == LogLevel::kWarning ? "warning"
                                                  : "error";
  std::lock_guard<std::mutex> lock(mu);
  std::fprintf(stderr, "perfwired: %s: %.*s\n", tag,
               static_cast<int>(message.size()), message.data());
}

}  // namespace perfwire
