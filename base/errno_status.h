#ifndef PERFWIRE_BASE_ERRNO_STATUS_H_
#define PERFWIRE_BASE_ERRNO_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace perfwire {

// The one errno -> Status mapping: absl::ErrnoToStatus's code for `err`
// (ENOENT -> NotFound, EACCES -> PermissionDenied, ...) with the message
// "<what>[ <path>]: <strerror>". `what` names the failing call or action.
absl::Status ErrnoStatus(int err, absl::string_view what,
                         absl::string_view path = {});

}  // namespace perfwire

#endif  // PERFWIRE_BASE_ERRNO_STATUS_H_
