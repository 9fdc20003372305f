#ifndef PERFWIRE_AGENT_LOG_H_
#define PERFWIRE_AGENT_LOG_H_

// Minimal logger (Debian's Abseil has no absl/log): one line per message on
// stderr, prefixed with the program name and severity. Thread-safe.

#include <string_view>

namespace perfwire {

enum class LogLevel { kInfo, kWarning, kError };

void SetLogVerbose(bool verbose);  // kInfo lines are printed only when verbose
void Log(LogLevel level, std::string_view message);
inline void LogInfo(std::string_view m) { Log(LogLevel::kInfo, m); }
inline void LogWarning(std::string_view m) { Log(LogLevel::kWarning, m); }
inline void LogError(std::string_view m) { Log(LogLevel::kError, m); }

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_LOG_H_
