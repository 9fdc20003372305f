#ifndef PERFWIRE_AGENT_LOG_H_
#define PERFWIRE_AGENT_LOG_H_

// Minimal logger (Debian's Abseil has no absl/log): one line per message on
// stderr, prefixed with the program name and severity. Thread-safe.

#include "absl/strings/string_view.h"

namespace perfwire {

enum class LogLevel { kInfo, kWarning, kError };

void SetLogVerbose(bool verbose);  // kInfo lines are printed only when verbose
void Log(LogLevel level, absl::string_view message);
inline void LogInfo(absl::string_view m) { Log(LogLevel::kInfo, m); }
inline void LogWarning(absl::string_view m) { Log(LogLevel::kWarning, m); }
inline void LogError(absl::string_view m) { Log(LogLevel::kError, m); }

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_LOG_H_
