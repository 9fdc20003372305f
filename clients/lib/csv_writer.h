#ifndef PERFWIRE_CLIENTS_LIB_CSV_WRITER_H_
#define PERFWIRE_CLIENTS_LIB_CSV_WRITER_H_

// CSV rendering of frames for `perfwire export csv` (columns documented in
// docs/CSV.md). RFC 4180 quoting: a field containing a comma, a double
// quote, CR or LF is enclosed in double quotes with inner quotes doubled.
// Rows end with "\n". Absent values (a host section the agent did not send)
// are empty fields. Pure functions; thread-safe.

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "perfwire_generated.h"

namespace perfwire {

// One field, quoted when needed.
std::string CsvEscape(absl::string_view field);

// Fields joined by commas, each escaped, plus "\n".
std::string CsvRow(const std::vector<std::string>& fields);

// The frame's end time (realtime_ns) as RFC 3339 UTC with milliseconds,
// e.g. "2026-11-25T06:02:21.123Z".
std::string Rfc3339Utc(uint64_t realtime_ns);

// The per-interval (wide) CSV: header names and one row per frame. The
// rate and share columns are derived from `frame` and `previous` (the
// stream's frame before it, null for the first) by host_rates: they are
// empty without `previous`, when the two frames cannot be compared (another
// host, time going back) and when either lacks the section's cumulative
// counters (frames of agents older than those fields).
std::vector<std::string> HostCsvHeader();
std::vector<std::string> HostCsvRow(const fb::Frame* previous,
                                    const fb::Frame& frame);

// The per-thread (long) CSV: header names and one row per thread in a frame.
std::vector<std::string> ThreadCsvHeader();
std::vector<std::vector<std::string>> ThreadCsvRows(const fb::Frame& frame);

}  // namespace perfwire

#endif  // PERFWIRE_CLIENTS_LIB_CSV_WRITER_H_
