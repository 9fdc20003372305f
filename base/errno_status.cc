#include "base/errno_status.h"

#include "absl/strings/str_cat.h"

namespace perfwire {

absl::Status ErrnoStatus(int err, absl::string_view what,
                         absl::string_view path) {
  if (path.empty()) return absl::ErrnoToStatus(err, what);
  return absl::ErrnoToStatus(err, absl::StrCat(what, " ", path));
}

}  // namespace perfwire
