#ifndef PERFWIRE_AGENT_KERNELFS_FILE_ERRORS_H_
#define PERFWIRE_AGENT_KERNELFS_FILE_ERRORS_H_

// The one mapping from a failed kernel-file access or a malformed kernel
// file to an absl::Status. Every /proc and /sys reader in the agent reports
// through these, so callers can rely on the codes:
//   NotFound          the file is gone (ENOENT; ESRCH: its task exited);
//   PermissionDenied  we may not read it (EACCES, EPERM);
//   DataLoss          its content is malformed (empty, truncated, garbage);
//                     the message names the file and, where there is one,
//                     the line;
//   other codes       any other errno, via absl::ErrnoToStatus.

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace perfwire {

// The status for `op` ("open", "read", "opendir", ...) on `path` failing
// with `err`. The message is "<op> <path>: <ERRNO NAME>: <strerror>".
absl::Status FileError(int err, absl::string_view op, absl::string_view path);

// DataLoss for malformed content of `file` (a path, or a name such as
// "stat" when the parser does not know the path). `line` is 1-based; 0 when
// the fault is not on one line (empty file, a line missing). The message is
// "<file>: line <n>: <what>" or "<file>: <what>".
absl::Status MalformedFile(absl::string_view file, size_t line,
                           absl::string_view what);

// The truncation rule every parser applies first: a kernel file ends in
// '\n', so content that is not empty and does not end in one was cut short
// (a short read, a capture cut off) and its last number may be wrong.
// DataLoss "<file>: truncated (no end of line)" then; OK otherwise (empty
// content is each parser's to judge).
absl::Status CheckNotTruncated(absl::string_view file, absl::string_view text);

// At most 32 bytes of `text` in single quotes for an error message,
// non-printable bytes as '?', "..." when cut.
std::string Excerpt(absl::string_view text);

// The symbol of an errno value, e.g. "ENOENT" ("errno 4242" if unknown).
std::string ErrnoSymbol(int err);
// "SYMBOL: meaning" for an errno value, e.g. "ENOENT: No such file or
// directory".
std::string ErrnoName(int err);

}  // namespace perfwire

#endif  // PERFWIRE_AGENT_KERNELFS_FILE_ERRORS_H_
