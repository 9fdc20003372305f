#include "agent/source.h"

#include "absl/strings/str_cat.h"
#include "agent/log.h"

namespace perfwire {

void MarkBroken(SourceStatus& status, const absl::Status& error) {
  if (status.available) {
    LogWarning(absl::StrCat(status.name, " source stopped: ", error.message()));
  }
  status.available = false;
  status.reason = std::string(error.message());
}

}  // namespace perfwire
